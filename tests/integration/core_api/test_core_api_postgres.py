"""The core API on a real, empty PostgreSQL database: migrations, seed, CRUD, outbox."""

from __future__ import annotations

import httpx
from alembic import command
from sqlalchemy import func, select

from core_api import migrate
from core_api.app import create_app
from core_api.database import Database
from core_api.models import ProjectRow
from core_api.outbox import OutboxEvent
from core_api.prepare import seed_regions, upgrade_regions
from kernel.settings import Settings


def pg_settings(url: str, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp_path, database_url=url, nats_url=None, redis_url=None)


def test_migrations_up_on_an_empty_database(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database.connect(postgres_url)
    try:
        with db.engine.connect() as conn:
            assert migrate.current_revision(conn) is None
        migrate.upgrade(db.engine)
        with db.engine.begin() as conn:
            assert migrate.is_at_head(conn)
            command.check(migrate.alembic_config(conn))
    finally:
        db.dispose()


def test_two_regions_share_one_database_without_mixing(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = pg_settings(postgres_url, tmp_path)
    upgrade_regions(settings, ["ams", "iad"])
    results = seed_regions(settings, ["ams", "iad"])
    assert [r.projects_added for r in results] == [82, 60]
    assert results[1].reference_rows_added == 0  # reference rows are shared
    db = Database.connect(postgres_url)
    try:
        with db.reads() as s:
            per_region = dict(s.execute(
                select(ProjectRow.region, func.count()).group_by(ProjectRow.region)).all())
    finally:
        db.dispose()
    assert per_region == {"ams": 82, "iad": 60}


async def test_api_on_postgresql(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = pg_settings(postgres_url, tmp_path)
    upgrade_regions(settings, ["ams"])
    seed_regions(settings, ["ams"])
    app = create_app(settings, "ams")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ams") as client:
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert (await client.get("/health")).json()["database"]["dialect"] == "postgresql"
        page = (await client.get("/v1/projects?sector=energy")).json()
        assert page["total"] == 14 and {p["sector"] for p in page["items"]} == {"energy"}
        body = {"name": "Tidal array", "country": "PRT", "sector": "energy", "budget_usd": 7}
        created = await client.post("/v1/projects", json=body)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        got = (await client.get(f"/v1/projects/{pid}")).json()
        assert got == created.json()
        patched = await client.patch(f"/v1/projects/{pid}", json={"progress": 30})
        assert patched.json()["progress"] == 30
        assert (await client.delete(f"/v1/projects/{pid}")).status_code == 204
        user = {"name": "Eva", "email": "eva@example.org", "country": "AUT"}
        assert (await client.post("/v1/users", json=user)).status_code == 201
        assert (await client.post("/v1/users", json=user)).status_code == 409
        name = await client.post("/v1/projects", json=body | {"name": "nul\x00"})
        assert name.status_code == 422
        stats = (await client.get("/v1/statistics")).json()
        assert stats["projects"] == 82 and stats["users"] == 1
        assert (await client.get("/v1/countries/PRT/statistics")).json()["projects"] >= 1
    db = Database.connect(postgres_url)
    try:
        with db.reads() as s:
            subjects = list(s.scalars(select(OutboxEvent.subject).order_by(OutboxEvent.seq)))
    finally:
        db.dispose()
    assert subjects == ["covenant.ams.project.created", "covenant.ams.project.updated",
                        "covenant.ams.project.deleted", "covenant.ams.user.created"]
