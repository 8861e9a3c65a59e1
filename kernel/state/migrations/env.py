"""Alembic environment of the state database: runs on the connection ``kernel.state.migrate``
hands over (or on ``sqlalchemy.url``), recording revisions in ``covenant_state_version``.

Autogenerating a revision needs every package's rows on ``StateBase.metadata``, and the kernel
imports no other package, so name their modules:
``-x rows=controlplane.store,slo.store,runbooks.journal_sql`` (comma-separated, imported
here before comparing).
"""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import Connection, create_engine

from kernel.state.base import StateBase
from kernel.state.migrate import VERSION_TABLE

config = context.config
target_metadata = StateBase.metadata


def _import_rows() -> None:
    for module in filter(None, context.get_x_argument(as_dictionary=True).get("rows", "")
                         .split(",")):
        importlib.import_module(module.strip())


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    # The core API's own history may share the database: its tables are not ours to diff.
    return type_ != "table" or name in target_metadata.tables


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    _import_rows()
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


run_migrations_online()
