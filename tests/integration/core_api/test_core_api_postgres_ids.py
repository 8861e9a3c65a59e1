"""Region-qualified ids and idempotent creates on real PostgreSQL: migration 0002 from data
written under 0001 (regions sharing one database), concurrent numbering, and the same
Idempotency-Key racing through two processes of one region."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import MetaData, Table, delete, func, insert, select, text

from core_api import migrate
from core_api.app import create_app
from core_api.database import Database
from core_api.idempotency import IdempotencyLedger
from core_api.models import ProjectRow
from core_api.prepare import seed_regions, upgrade_regions
from core_api.projects import ProjectStore
from core_api.schemas import ProjectCreate
from kernel.clock import SYSTEM_CLOCK
from kernel.settings import Settings
from tests.core_api.schema_0001 import (
    WHEN,
    assert_upgraded_without_loss,
    rows_by_key,
    write_0001_data,
)
from tests.waiting import eventually

PROJECT = {"name": "Dyke", "country": "NLD", "sector": "water", "budget_usd": 5}


def pg_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, nats_url=None, redis_url=None)


def test_upgrade_from_0001_on_postgresql(postgres_url: str) -> None:
    db = Database.connect(postgres_url)
    try:
        old = write_0001_data(db.engine)
        with db.engine.begin() as conn:  # a sixth project, deleted: the sequence is at 6
            projects = Table("projects", MetaData(), autoload_with=conn)
            sixth = conn.execute(insert(projects).values(
                region="syd", name="Gone", country="AUS", sector="water", budget_usd=1,
                status="planned", beneficiaries=0, progress=0, profit_usd=0,
                created_at=WHEN, updated_at=WHEN).returning(projects.c.id)).scalar_one()
            conn.execute(delete(projects).where(projects.c.id == sixth))
        migrate.upgrade(db.engine)
        assert_upgraded_without_loss(db.engine, old)
        with db.engine.begin() as conn:
            command.check(migrate.alembic_config(conn))
            counters = dict(((r, e), n) for r, e, n in conn.execute(
                text("SELECT region, entity, last FROM id_counters")))
            sequences = conn.scalar(text(
                "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname LIKE '%_id_seq'"))
        # Numbering goes on after everything the old sequences handed out: 6 is not reused.
        assert counters == {("ams", "project"): 6, ("syd", "project"): 6,
                            ("ams", "user"): 2, ("syd", "user"): 2}
        assert sequences == 0
        with db.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0001")
        with db.engine.begin() as conn:
            assert rows_by_key(conn, "projects", "id") == old.projects
            projects = Table("projects", MetaData(), autoload_with=conn)
            again = conn.execute(insert(projects).values(
                region="ams", name="Old code", country="NLD", sector="water", budget_usd=1,
                status="planned", beneficiaries=0, progress=0, profit_usd=0,
                created_at=WHEN, updated_at=WHEN).returning(projects.c.id)).scalar_one()
            assert again == 7  # the recreated sequence continues after the counters
    finally:
        db.dispose()


async def test_regions_in_one_database_have_their_own_ids(postgres_url: str,
                                                          tmp_path: Path) -> None:
    settings = pg_settings(postgres_url, tmp_path)
    upgrade_regions(settings, ["iad"])
    seed_regions(settings, ["iad", "ams"])  # iad first: ids do not depend on the order
    app = create_app(settings, "ams")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ams") as client:
        first = (await client.get("/v1/projects/ams-1")).json()
        assert (first["name"], first["country"]) == ("Seed bank Tirana #1", "ALB")
        other = await client.get("/v1/projects/iad-1")
        assert other.status_code == 404 and "lives in region iad" in other.text
        created = await client.post("/v1/projects", json=PROJECT)
        assert created.json()["id"] == "ams-83"


def test_concurrent_creates_get_distinct_consecutive_numbers(postgres_url: str,
                                                             tmp_path: Path) -> None:
    settings = pg_settings(postgres_url, tmp_path)
    upgrade_regions(settings, ["ams"])
    seed_regions(settings, ["ams"])
    db = Database.for_region(settings, "ams")
    store = ProjectStore(db, "ams", SYSTEM_CLOCK)
    try:
        with ThreadPoolExecutor(8) as pool:
            views = list(pool.map(lambda _: store.create(ProjectCreate.model_validate(PROJECT)),
                                  range(40)))
    finally:
        db.dispose()
    assert sorted(int(v.id.removeprefix("ams-")) for v in views) == list(range(83, 123))


@pytest.fixture()
async def two_processes(postgres_url: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """Two API instances of ams on one database (as two processes would be); the first one's
    creates stop after storing their response, before the commit, until released."""
    settings = pg_settings(postgres_url, tmp_path)
    upgrade_regions(settings, ["ams"])
    seed_regions(settings, ["ams"])
    stored, release = threading.Event(), threading.Event()
    first, second = create_app(settings, "ams"), create_app(settings, "ams")
    ledger: IdempotencyLedger = first.state.services.ledger
    real_remember = ledger.remember

    def remember_then_hold(*args: Any) -> None:
        real_remember(*args)
        stored.set()
        assert release.wait(20), "the test never released the first create"

    monkeypatch.setattr(ledger, "remember", remember_then_hold)
    async with first.router.lifespan_context(first), \
            second.router.lifespan_context(second):
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://ams") for app in (first, second)]
        try:
            yield {"clients": clients, "stored": stored, "release": release,
                   "db": first.state.services.db}
        finally:
            release.set()
            for client in clients:
                await client.aclose()


def lock_waiters(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")) or 0)


async def test_one_key_racing_through_two_processes_creates_once(
        two_processes: dict[str, Any]) -> None:
    one, two = two_processes["clients"]
    headers = {"Idempotency-Key": "race-1"}
    held = asyncio.create_task(one.post("/v1/projects", json=PROJECT, headers=headers))
    assert await asyncio.to_thread(two_processes["stored"].wait, 20)
    racing = asyncio.create_task(two.post("/v1/projects", json=PROJECT, headers=headers))
    db = two_processes["db"]
    await eventually(lambda: lock_waiters(db) >= 1, "the second create to wait for the first")
    two_processes["release"].set()
    winner, loser = await held, await racing
    assert winner.status_code == 201, winner.text
    assert loser.status_code == 409 and loser.headers["retry-after"] == "1"
    retry = await two.post("/v1/projects", json=PROJECT, headers=headers)
    assert retry.headers["idempotent-replayed"] == "true" and retry.json() == winner.json()
    with db.reads() as session:
        assert session.scalar(select(func.count()).select_from(ProjectRow)
                              .where(ProjectRow.name == PROJECT["name"])) == 1
