"""Alembic migrations shipped in the package: upgrade to head, and "is this database at head?"."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from kernel.migrations import alembic_config as shipped_config


def alembic_config(connection: Connection | None = None) -> Config:
    return shipped_config("core_api:migrations", connection)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (idempotent)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def is_at_head(conn: Connection) -> bool:
    return current_revision(conn) == head_revision()
