"""The state migrations' cases, run on SQLite (tests/kernel) and on PostgreSQL
(tests/integration/kernel) alike: each takes the database URL.

"Pre-history" stores are made the way releases before the migrations made them: the tables
by ``create_all`` from the row definitions of the time (frozen here, not derived from today's
rows), the p99 and request-rate columns by the ALTER TABLE those releases ran at open.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

# Every package with rows on StateBase, so its metadata is the whole state database's:
import controlplane.keys  # noqa: F401
import controlplane.overrides  # noqa: F401
import controlplane.store  # noqa: F401
import kernel.state.locks  # noqa: F401
import runbooks.journal_sql  # noqa: F401
import slo.store  # noqa: F401
from controlplane.errors import StoreError
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.store import StateStore
from kernel.state.base import StateBase
from kernel.state.migrate import (
    VERSION_TABLE,
    current_state_revision,
    head_state_revision,
    upgrade_state,
)
from slo.store import SloStore

ADDED_COLUMNS = ("latency_p99_s", "request_rate")


def _pk_id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _at() -> sa.Column[float]:
    return sa.Column("at", sa.Float, nullable=False, index=True)


def _s16(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(16), nullable=False)


def _pre_history_metadata() -> sa.MetaData:
    """The tables as ``create_all`` made them before the history (cp_observations without the
    two columns added later), with SQLAlchemy's default names."""
    md = sa.MetaData()
    sa.Table("cp_observations", md, _pk_id(), _at(), _s16("region"), _s16("status"),
             sa.Column("latency_s", sa.Float), sa.Column("requests", sa.Integer, nullable=False),
             sa.Column("errors", sa.Integer, nullable=False),
             sa.Column("detail", sa.Text, nullable=False))
    sa.Table("cp_verdicts", md, _pk_id(), _at(), _s16("region"), _s16("state"),
             sa.Column("changed", sa.Boolean, nullable=False),
             sa.Column("line", sa.Text, nullable=False))
    sa.Table("cp_regions", md, sa.Column("region", sa.String(16), primary_key=True),
             _s16("state"), sa.Column("at", sa.Float, nullable=False),
             sa.Column("line", sa.Text, nullable=False), sa.Column("latency_s", sa.Float),
             sa.Column("error_ratio", sa.Float, nullable=False), _s16("routed_to"))
    sa.Table("cp_incidents", md, sa.Column("id", sa.String(64), primary_key=True),
             sa.Column("region", sa.String(16), nullable=False, index=True), _s16("severity"),
             sa.Column("status", sa.String(16), nullable=False, index=True),
             sa.Column("opened_at", sa.Float, nullable=False),
             sa.Column("updated_at", sa.Float, nullable=False),
             sa.Column("resolved_at", sa.Float), sa.Column("summary", sa.Text, nullable=False))
    sa.Table("cp_incident_events", md, _pk_id(),
             sa.Column("incident_id", sa.String(64), sa.ForeignKey("cp_incidents.id"),
                       nullable=False, index=True),
             sa.Column("at", sa.Float, nullable=False), _s16("kind"), _s16("severity"),
             sa.Column("reason", sa.Text, nullable=False))
    sa.Table("cp_incident_plots", md,
             sa.Column("incident_id", sa.String(64), sa.ForeignKey("cp_incidents.id"),
                       primary_key=True),
             sa.Column("at", sa.Float, nullable=False),
             sa.Column("png", sa.LargeBinary, nullable=False))
    sa.Table("cp_actions", md, _pk_id(), _at(), sa.Column("kind", sa.String(32), nullable=False),
             sa.Column("region", sa.String(16)), sa.Column("reason", sa.Text, nullable=False),
             sa.Column("leader", sa.String(128), nullable=False),
             sa.Column("payload", sa.Text, nullable=False))
    sa.Table("slo_policy_decisions", md, _pk_id(), _at(),
             sa.Column("service", sa.String(200), nullable=False, index=True),
             sa.Column("kind", sa.String(40), nullable=False),
             sa.Column("slo_id", sa.String(300), nullable=False),
             sa.Column("incident_id", sa.String(200), nullable=False),
             sa.Column("reason", sa.String(2000), nullable=False))
    sa.Table("slo_budget_snapshots", md, _pk_id(), _at(),
             sa.Column("slo_id", sa.String(300), nullable=False, index=True),
             sa.Column("service", sa.String(200), nullable=False),
             *(sa.Column(c, sa.Float, nullable=False) for c in (
                 "objective", "sli", "consumed", "remaining", "burn_rate", "total")))
    return md


def make_pre_history_store(url: str, added_columns: tuple[str, ...] = (),
                           tables: tuple[str, ...] | None = None) -> None:
    """A store as an older release left it: ``tables`` (all by default) by ``create_all``,
    then ``added_columns`` by ALTER TABLE, and one observation recorded before them."""
    md = _pre_history_metadata()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            md.create_all(conn, tables=None if tables is None else
                          [md.tables[t] for t in tables])
            for column in added_columns:
                conn.execute(sa.text(f"ALTER TABLE cp_observations ADD COLUMN {column} FLOAT"))
            if tables is None or "cp_observations" in tables:
                insert_old_observation(conn)
    finally:
        engine.dispose()


def make_store_at_baseline(url: str) -> None:
    """A store under the history at 0001 (before 0002), with one observation."""
    engine = sa.create_engine(url)
    try:
        upgrade_state(engine, "0001")
        with engine.begin() as conn:
            insert_old_observation(conn)
    finally:
        engine.dispose()


def insert_old_observation(conn: sa.Connection) -> None:
    conn.execute(sa.text(
        "INSERT INTO cp_observations (at, region, status, latency_s, requests, errors, "
        "detail) VALUES (1.0, 'ams', 'up', 0.01, 10, 0, 'old')"))


def schema_diff(url: str) -> list[Any]:
    """Alembic's differences between the database and ``StateBase.metadata`` (none at head)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE,
                                                             "compare_type": True})
            return list(compare_metadata(context, StateBase.metadata))
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return current_state_revision(conn)
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def assert_at_head_with_metadata(url: str) -> None:
    assert revision(url) == head_state_revision()
    assert tables(url) == set(StateBase.metadata.tables) | {VERSION_TABLE}
    assert schema_diff(url) == []


def assert_opens_at_head_keeping_the_old_row(url: str) -> None:
    """Opening the store migrates it: the old observation is there (p99 and rate unknown),
    new ones record both, and a second open finds nothing to do."""
    store = StateStore(url)
    try:
        store.record_cycle(2.0, [RegionObservation("ams", 2.0, ProbeStatus.UP, 0.01, 10, 0,
                                                   True, request_rate=10.0, latency_p99_s=0.2)],
                           [], {})
        history = store.history(10)
        assert [(o.at, o.detail, o.request_rate, o.latency_p99_s) for o in history] == [
            (1.0, "old", None, None), (2.0, "", 10.0, 0.2)]
    finally:
        store.close()
    StateStore(url).close()  # opening it again: already at head
    assert_at_head_with_metadata(url)


def assert_adopted(url: str, added_columns: tuple[str, ...]) -> None:
    make_pre_history_store(url, added_columns)
    assert revision(url) is None and VERSION_TABLE not in tables(url)
    assert_opens_at_head_keeping_the_old_row(url)


def assert_concurrent_openers_all_succeed(url: str, openers: int = 4) -> None:
    """Replicas opening one empty database at once: each waits for the one migrating, then
    finds it at head (without the lock, the losers fail creating tables that now exist)."""
    start = threading.Barrier(openers)
    errors: list[Exception] = []

    def open_store(i: int) -> None:
        start.wait()
        try:
            (StateStore if i % 2 else SloStore)(url).close()  # both run the one history
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(i,)) for i in range(openers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "an opener is still waiting"
    assert errors == []
    assert_at_head_with_metadata(url)


def assert_downgrade_and_back(url: str) -> None:
    """Each revision's downgrade undoes its upgrade: down to base (no state tables left) and
    up again to head."""
    from alembic import command

    from kernel.state.migrate import state_alembic_config

    engine = sa.create_engine(url)
    try:
        upgrade_state(engine)
        with engine.begin() as conn:
            command.downgrade(state_alembic_config(conn), "0001")
        assert ADDED_COLUMNS[0] not in {c["name"] for c in
                                        sa.inspect(engine).get_columns("cp_observations")}
        with engine.begin() as conn:
            command.downgrade(state_alembic_config(conn), "base")
        assert tables(url) == {VERSION_TABLE}
        upgrade_state(engine)
    finally:
        engine.dispose()
    assert_at_head_with_metadata(url)


def tables_of_pre_history() -> tuple[str, ...]:
    return tuple(_pre_history_metadata().tables)


def assert_a_failing_migration_leaves_nothing_behind(url: str) -> None:
    """All revisions run in one transaction (SQLite too, where DDL would otherwise commit
    itself): an index name already taken makes the baseline fail after its first table, and
    that table is gone with the rest."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE unrelated (at FLOAT)"))
            conn.execute(sa.text("CREATE INDEX ix_cp_observations_at ON unrelated (at)"))
        with pytest.raises(StoreError, match="COVENANT_STATE_URL"):
            StateStore(url)
        assert tables(url) == {"unrelated"}
    finally:
        engine.dispose()
