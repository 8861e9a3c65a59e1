"""The state database's Alembic history, run at open: upgrade to head, adopting stores from
before the history, one opener at a time.

Every store on the state database (``controlplane.store``, ``slo.store``, ...) calls
:func:`upgrade_state` when it opens. Revisions are recorded in ``covenant_state_version``,
not ``alembic_version``, because the core API's own history may share a PostgreSQL database.

A store made before the history (``create_all`` and ALTER TABLE at open) has the tables but
no version table: it is adopted by running the baseline (which creates only the tables it
lacks) and stamping 0002 when its observations already have the columns 0002 adds.
"""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from kernel.errors import KernelError
from kernel.migrations import alembic_config

VERSION_TABLE = "covenant_state_version"
BASELINE = "0001"

# Every state-store opener takes this PostgreSQL advisory lock (b"covstate" as a bigint) for
# the transaction that migrates, so two control-plane replicas never run a revision twice.
_PG_LOCK_KEY = 7165075770415608933

# The tables ``create_all`` made before the history: finding any of them without a version
# table means a store to adopt. Frozen; a table added by a later revision never belongs here.
_PRE_HISTORY_TABLES = frozenset({
    "cp_observations", "cp_verdicts", "cp_regions", "cp_incidents", "cp_incident_events",
    "cp_incident_plots", "cp_actions", "slo_policy_decisions", "slo_budget_snapshots"})

# What revision 0002 adds, which stores before the history gained by ALTER TABLE at open.
_ADDED_BY_0002 = ("cp_observations", frozenset({"latency_p99_s", "request_rate"}))


class StateSchemaError(KernelError):
    """The state database's schema cannot be brought to this release's head."""


def state_alembic_config(connection: Connection | None = None) -> Config:
    return alembic_config("kernel.state:migrations", connection)


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(state_alembic_config())


def head_state_revision() -> str | None:
    return _script().get_current_head()


def current_state_revision(conn: Connection) -> str | None:
    """The revision recorded in ``covenant_state_version``; None before the first upgrade."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}
                                      ).get_current_revision()


def is_state_at_head(conn: Connection) -> bool:
    return current_state_revision(conn) == head_state_revision()


def upgrade_state(engine: Engine, revision: str = "head") -> None:
    """Bring the state database behind ``engine`` to ``revision`` (idempotent): adopt a store
    from before the history, then run what it lacks, all in one transaction."""
    with engine.begin() as conn:
        _one_opener_at_a_time(conn)
        _refuse_unknown_revision(conn)
        _adopt_pre_history_store(conn)
        try:
            command.upgrade(state_alembic_config(conn), revision)
        except CommandError as exc:
            raise StateSchemaError(f"state migrations to {revision!r} failed: {exc}") from exc


def _one_opener_at_a_time(conn: Connection) -> None:
    # Everything after this, from reading the version to stamping it, runs under the lock:
    # a second opener waits, then finds the database at head and does nothing.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # pysqlite opens no transaction before DDL; BEGIN IMMEDIATE makes the migration
        # atomic and takes the write lock first, so a second process waits (busy timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_unknown_revision(conn: Connection) -> None:
    current = current_state_revision(conn)
    if current is not None and current not in {s.revision for s in _script().walk_revisions()}:
        raise StateSchemaError(
            f"the state database is at revision {current!r}, which this release does not "
            f"know (head here is {head_state_revision()!r}): a newer Covenant migrated it; "
            "run that release or a newer one against it")


def _adopt_pre_history_store(conn: Connection) -> None:
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    if VERSION_TABLE in tables or not tables & _PRE_HISTORY_TABLES:
        return  # under the history already, or empty (of state tables): nothing to adopt
    added = _added_columns_present(conn, tables)
    config = state_alembic_config(conn)
    command.upgrade(config, BASELINE)  # creates the baseline tables it lacks, stamps 0001
    if added:
        command.stamp(config, "0002")


def _added_columns_present(conn: Connection, tables: set[str]) -> bool:
    """Whether the store's observations already have 0002's columns (the ALTER TABLE at open
    ran); raises when only some do, as a crash between the two ALTERs would leave it."""
    table, columns = _ADDED_BY_0002
    if table not in tables:
        return False  # the baseline creates it, and 0002 adds the columns
    present = columns & {c["name"] for c in inspect(conn).get_columns(table)}
    if present and present != columns:
        raise StateSchemaError(
            f"{table} has {sorted(present)} but not {sorted(columns - present)}: a store "
            "from before the state migrations, half-way through adding them; add the missing "
            "column(s) (nullable float) and open it again")
    return present == columns
