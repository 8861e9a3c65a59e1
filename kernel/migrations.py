"""Running an Alembic history shipped inside a package: the core API's and the state store's.

Both histories run programmatically (at ``covenant db upgrade``, at a store's open) on a
connection they are handed, and may share one PostgreSQL database, so each diffs only its
own tables and records its revisions in its own version table.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, create_engine


def alembic_config(script_location: str, connection: Connection | None = None) -> Config:
    """An Alembic config for ``package:migrations``, running on ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", script_location)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def only_tables_of(metadata: MetaData) -> Callable[[str | None, str, object], bool]:
    """An ``include_name`` hook: another history's tables in the same database are not ours."""
    def ours(name: str | None, type_: str, parent_names: object) -> bool:
        return type_ != "table" or name in metadata.tables
    return ours


def run_env(metadata: MetaData, version_table: str = "alembic_version") -> None:
    """The body of a history's ``env.py``: migrate on the handed-over connection, or on
    ``sqlalchemy.url``, in one transaction."""
    config = context.config

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection, target_metadata=metadata, version_table=version_table,
            include_name=only_tables_of(metadata),
            render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            run(conn)
    finally:
        engine.dispose()
