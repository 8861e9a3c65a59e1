"""Rows as the 0001 schema held them (one integer id sequence per database), written with
the code path of that schema, and the checks that migration 0002 kept every row and gave it
its region-qualified id. Shared by the SQLite test and the PostgreSQL one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, insert, select, update
from sqlalchemy.orm import Session

from core_api import migrate
from core_api.outbox import OutboxEvent, enqueue
from core_api.seed import seed_reference

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Regions sharing one database, as COVENANT_DATABASE_URL without {region} makes them:
# ids 1-2 are ams's, 3-5 syd's.
OLD_PROJECTS = (("ams", "Dyke", "NLD"), ("ams", "Polder", "BEL"), ("syd", "Reef", "AUS"),
                ("syd", "Harbour", "NZL"), ("syd", "Atoll", "FJI"))
OLD_USERS = (("ams", "Ada", "ada@example.org", "GBR"), ("syd", "Kim", "kim@example.org", "AUS"))


@dataclass(frozen=True)
class OldData:
    projects: dict[int, dict[str, Any]]  # the old integer id -> the row's other columns
    users: dict[int, dict[str, Any]]


def rows_by_key(conn: Connection, table: str, key: str) -> dict[Any, dict[str, Any]]:
    reflected = Table(table, MetaData(), autoload_with=conn)
    rows = [dict(row._mapping) for row in conn.execute(select(reflected))]
    if key == "id":
        return {row.pop("id"): row for row in rows}
    return {(row["region"], row.pop("number")): row for row in rows}


def write_0001_data(engine: Engine) -> OldData:
    """Migrate to 0001 and write projects, users and outbox events as its code did."""
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        session = Session(bind=conn)
        seed_reference(session)
        session.flush()
        tables = MetaData()
        projects = Table("projects", tables, autoload_with=conn)
        users = Table("users", tables, autoload_with=conn)
        for region, name, country in OLD_PROJECTS:
            conn.execute(insert(projects).values(
                region=region, name=name, country=country, sector="water", budget_usd=10,
                status="active", beneficiaries=3, progress=50, profit_usd=1,
                created_at=WHEN, updated_at=WHEN))
        for region, name, email, country in OLD_USERS:
            conn.execute(insert(users).values(region=region, name=name, email=email,
                                              country=country, created_at=WHEN,
                                              updated_at=WHEN))
        old = OldData(rows_by_key(conn, "projects", "id"), rows_by_key(conn, "users", "id"))
        # Events as the old code enqueued them: integer ids. The first one was published.
        published = enqueue(session, "ams", "project", "created", {"id": 1, "name": "Dyke"})
        enqueue(session, "syd", "project", "updated", {"id": 4, "changed": ["progress"]})
        enqueue(session, "syd", "user", "created", {"id": 2, "region": "syd"})
        session.flush()
        conn.execute(update(OutboxEvent).where(OutboxEvent.id == published.id)
                     .values(published_at=WHEN))
    return old


def assert_upgraded_without_loss(engine: Engine, old: OldData) -> None:
    """Every row is there under (its region, its old integer), all other columns equal;
    pending events carry string ids, the published one is left as it was sent."""
    with engine.connect() as conn:
        projects = rows_by_key(conn, "projects", "number")
        users = rows_by_key(conn, "users", "number")
        payloads = [json.loads(p) for p in conn.scalars(
            select(OutboxEvent.payload).order_by(OutboxEvent.seq))]
    assert projects == {(row["region"], n): row for n, row in old.projects.items()}
    assert set(projects) == {("ams", 1), ("ams", 2), ("syd", 3), ("syd", 4), ("syd", 5)}
    assert users == {(row["region"], n): row for n, row in old.users.items()}
    assert [p["data"]["id"] for p in payloads] == [1, "syd-4", "syd-2"]
