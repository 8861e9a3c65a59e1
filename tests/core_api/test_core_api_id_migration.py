"""Migration 0002 on SQLite: data written under 0001 keeps every row under its region-qualified
id, numbering goes on after it, and a downgrade gives the integer ids back (or refuses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Table, insert, select
from sqlalchemy.schema import MetaData

from core_api import migrate
from core_api.database import Database
from core_api.outbox import OutboxEvent
from core_api.prepare import seed_regions, upgrade_regions
from kernel.settings import Settings

from .conftest import open_api
from .schema_0001 import WHEN, assert_upgraded_without_loss, rows_by_key, write_0001_data


def settings_for(tmp_path: Path) -> Settings:
    """Every region in one SQLite file, like a PostgreSQL URL without {region}."""
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'all.sqlite3'}",
                    nats_url=None, redis_url=None)


@pytest.fixture()
def old_database(tmp_path: Path) -> Database:
    return Database.for_region(settings_for(tmp_path), "ams")


def test_upgrade_from_0001_keeps_every_row_under_its_region_id(old_database: Database) -> None:
    try:
        old = write_0001_data(old_database.engine)
        migrate.upgrade(old_database.engine)
        assert_upgraded_without_loss(old_database.engine, old)
        with old_database.engine.begin() as conn:
            assert migrate.is_at_head(conn)
            command.check(migrate.alembic_config(conn))  # the models match the result
    finally:
        old_database.dispose()


async def test_the_api_serves_migrated_rows_and_numbers_on(tmp_path: Path,
                                                          old_database: Database) -> None:
    try:
        write_0001_data(old_database.engine)
        migrate.upgrade(old_database.engine)
    finally:
        old_database.dispose()
    settings = settings_for(tmp_path)
    async for syd in open_api(settings, "syd"):
        assert (await syd.client.get("/v1/projects/syd-4")).json()["name"] == "Harbour"
        listed = (await syd.client.get("/v1/projects")).json()["items"]
        assert [p["id"] for p in listed] == ["syd-3", "syd-4", "syd-5"]
        new = await syd.client.post("/v1/projects", json={
            "name": "Jetty", "country": "AUS", "sector": "water", "budget_usd": 1})
        assert new.json()["id"] == "syd-6"
        assert (await syd.client.get("/v1/users/syd-2")).json()["email"] == "kim@example.org"
        user = await syd.client.post("/v1/users", json={
            "name": "Lee", "email": "lee@example.org", "country": "AUS"})
        assert user.json()["id"] == "syd-3"
    async for ams in open_api(settings, "ams"):
        assert (await ams.client.get("/v1/projects/ams-2")).json()["name"] == "Polder"
        assert (await ams.client.get("/v1/projects/syd-4")).status_code == 404
        new = await ams.client.post("/v1/projects", json={
            "name": "Sluice", "country": "NLD", "sector": "water", "budget_usd": 1})
        assert new.json()["id"] == "ams-3"


def test_downgrade_gives_the_integer_ids_back(old_database: Database) -> None:
    try:
        old = write_0001_data(old_database.engine)
        migrate.upgrade(old_database.engine)
        with old_database.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0001")
        with old_database.engine.begin() as conn:
            assert rows_by_key(conn, "projects", "id") == old.projects
            assert rows_by_key(conn, "users", "id") == old.users
            payloads = list(conn.scalars(select(OutboxEvent.payload)
                                         .order_by(OutboxEvent.seq)))
            assert ['"id":1,' in p for p in payloads] == [True, False, False]
            assert ['"id":4,' in payloads[1], '"id":2,' in payloads[2]] == [True, True]
            projects = Table("projects", MetaData(), autoload_with=conn)
            added = conn.execute(insert(projects).values(
                region="ams", name="Old code", country="NLD", sector="water", budget_usd=1,
                status="planned", beneficiaries=0, progress=0, profit_usd=0,
                created_at=WHEN, updated_at=WHEN))
            assert added.inserted_primary_key == (6,)  # integer ids again
    finally:
        old_database.dispose()


def test_downgrade_refuses_when_regions_share_numbers(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    upgrade_regions(settings, ["ams"])
    seed_regions(settings, ["ams", "syd"])  # both have a project number 1
    db = Database.for_region(settings, "ams")
    try:
        with pytest.raises(RuntimeError, match="regions share the numbers"), \
                db.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0001")
        with db.engine.connect() as conn:
            assert migrate.is_at_head(conn)  # nothing was changed
    finally:
        db.dispose()
