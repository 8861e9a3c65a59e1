"""The journal on the state database (SQLite by default, PostgreSQL in production).

Rows live on the shared ``StateBase``; their schema comes from the state migrations
(revisions ``0003_runbook_journal`` and ``0004_runbook_wiring`` under
``kernel/state/migrations/versions``), run at open
like every other store. Calls are synchronous SQLAlchemy run in a worker thread, so a slow
database never stalls the event loop that drives other runs. ``list_runs`` pages by keyset
on the id (``WHERE id < :before ORDER BY id DESC LIMIT n``), as fast on page 500 as on page 1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Update

from kernel.state.base import StateBase
from kernel.state.migrate import StateSchemaError, upgrade_state
from runbooks.errors import JournalError, RunNotFound
from runbooks.journal import RunDraft, RunRecord, RunStatus, StepRecord, StepStatus, clip

T = TypeVar("T")


class RunRow(StateBase):
    __tablename__ = "rb_runs"
    __table_args__ = (Index("ix_rb_runs_runbook_id", "runbook", "id"),
                      Index("ix_rb_runs_region_id", "region", "id"),
                      Index("ix_rb_runs_status_id", "status", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    runbook: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(16))
    inputs: Mapped[str] = mapped_column(Text)  # JSON object
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    error: Mapped[str] = mapped_column(Text)
    escalated_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Added by revision 0004: the incident the run works on; when its alert resolved.
    incident_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class StepRow(StateBase):
    __tablename__ = "rb_steps"
    run_id: Mapped[int] = mapped_column(ForeignKey("rb_runs.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    output: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer)


class TriggerKeyRow(StateBase):
    """One alert notification (fingerprint@startsAt) or verdict occurrence, and its run."""

    __tablename__ = "rb_trigger_keys"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rb_runs.id"), index=True)
    at: Mapped[float] = mapped_column(Float)


class SqlJournal:
    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        if engine is None and not url:
            raise JournalError("SqlJournal needs a database URL or an engine; set "
                               "COVENANT_STATE_URL")
        self._engine = engine or create_engine(str(url))
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_wal)
        try:
            upgrade_state(self._engine)
        except (SQLAlchemyError, StateSchemaError) as exc:
            raise JournalError(f"runbook journal at {self._engine.url!r} cannot be opened: "
                               f"{exc}; check COVENANT_STATE_URL") from exc

    def close(self) -> None:
        self._engine.dispose()

    async def _call(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` in one transaction, in a worker thread (SQLAlchemy Core: the ORM's
        per-call bookkeeping cost more than the SQLite work here)."""
        def work() -> T:
            try:
                with self._engine.begin() as conn:
                    return fn(conn)
            except SQLAlchemyError as exc:
                raise JournalError(f"runbook journal: {exc}") from exc
        return await asyncio.to_thread(work)

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` reading only, in a worker thread (no transaction to commit)."""
        def work() -> T:
            try:
                with self._engine.connect() as conn:
                    return fn(conn)
            except SQLAlchemyError as exc:
                raise JournalError(f"runbook journal: {exc}") from exc
        return await asyncio.to_thread(work)

    async def create_run(self, draft: RunDraft) -> RunRecord:
        inputs = json.dumps(dict(draft.inputs), sort_keys=True)

        def work(conn: Connection) -> int:
            created = conn.execute(insert(RunRow).values(
                runbook=draft.runbook, region=draft.region, inputs=inputs,
                status=RunStatus.RUNNING.value, actor=draft.actor, trigger=draft.trigger,
                started_at=draft.started_at, deadline_at=draft.deadline_at, error="",
                incident_id=draft.incident)).inserted_primary_key
            assert created is not None  # an INSERT of one row always has one
            run_id = int(created[0])
            conn.execute(insert(StepRow), [
                {"run_id": run_id, "idx": i, "step_id": sid, "kind": kind, "actor": "",
                 "status": StepStatus.PENDING.value, "output": "", "error": "", "attempt": 0}
                for i, (sid, kind) in enumerate(draft.steps)])
            return run_id
        run_id = await self._call(work)
        return RunRecord(run_id, draft.runbook, draft.region, json.loads(inputs),
                         RunStatus.RUNNING, draft.actor, draft.trigger, draft.started_at,
                         draft.deadline_at, incident=draft.incident)

    async def run(self, run_id: int) -> RunRecord:
        return await self._read(lambda conn: _run_or_raise(conn, run_id))

    async def steps(self, run_id: int) -> list[StepRecord]:
        def work(conn: Connection) -> list[StepRecord]:
            _run_or_raise(conn, run_id)
            rows = conn.execute(select(StepRow).where(StepRow.run_id == run_id)
                                .order_by(StepRow.idx)).mappings()
            return [_step(r) for r in rows]
        return await self._read(work)

    async def save_run(self, run: RunRecord) -> None:
        values: dict[str, object] = {"status": run.status.value, "error": clip(run.error),
                                     "ended_at": run.ended_at,
                                     "escalated_at": run.escalated_at}
        # Set by link_incident/mark_resolved beside the executor: never cleared here.
        if run.incident is not None:
            values["incident_id"] = run.incident
        if run.resolved_at is not None:
            values["resolved_at"] = run.resolved_at
        statement = update(RunRow).where(RunRow.id == run.id).values(values)
        await self._update(statement, f"no run #{run.id} to update")

    async def save_step(self, step: StepRecord) -> None:
        statement = update(StepRow).where(
            StepRow.run_id == step.run_id, StepRow.idx == step.index).values(
            status=step.status.value, actor=step.actor, attempt=step.attempt,
            started_at=step.started_at, ended_at=step.ended_at, output=clip(step.output),
            error=clip(step.error))
        await self._update(statement, f"no step {step.step_id} in run #{step.run_id} to "
                                      "update")

    async def _update(self, statement: Update, missing: str) -> None:
        """One UPDATE by primary key (no read first: the executor writes whole records)."""
        def work(conn: Connection) -> None:
            if not conn.execute(statement).rowcount:
                raise RunNotFound(missing)
        await self._call(work)

    async def list_runs(self, *, before: int | None = None, limit: int = 50,
                        runbook: str | None = None, region: str | None = None,
                        active_only: bool = False,
                        status: RunStatus | None = None) -> list[RunRecord]:
        if active_only and region is not None and before is None and runbook is None \
                and status is None:  # what admission asks for every new trigger: built once
            return await self._read(lambda conn: [_run(r) for r in conn.execute(
                _ACTIVE_IN, {"region": region, "limit": limit}).mappings()])
        query = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
        if before is not None:
            query = query.where(RunRow.id < before)
        if runbook is not None:
            query = query.where(RunRow.runbook == runbook)
        if region is not None:
            query = query.where(RunRow.region == region)
        if active_only:
            query = query.where(RunRow.ended_at.is_(None))
        if status is not None:
            query = query.where(RunRow.status == status.value)
        return await self._read(lambda conn: [_run(r) for r in conn.execute(query).mappings()])

    async def link_incident(self, run_id: int, incident: str) -> None:
        await self._call(lambda conn: conn.execute(
            update(RunRow).where(RunRow.id == run_id, RunRow.incident_id.is_(None))
            .values(incident_id=incident)))

    async def mark_resolved(self, run_id: int, at: float) -> None:
        await self._call(lambda conn: conn.execute(
            update(RunRow).where(RunRow.id == run_id, RunRow.resolved_at.is_(None))
            .values(resolved_at=at)))

    async def incident_runs(self, incidents: Collection[str]) -> dict[str, list[int]]:
        if not incidents:
            return {}
        query = (select(RunRow.incident_id, RunRow.id)
                 .where(RunRow.incident_id.in_(list(incidents))).order_by(RunRow.id))

        def work(conn: Connection) -> dict[str, list[int]]:
            out: dict[str, list[int]] = {}
            for incident, run_id in conn.execute(query):
                out.setdefault(str(incident), []).append(int(run_id))
            return out
        return await self._call(work)

    async def remember_trigger(self, key: str, run_id: int, at: float) -> bool:
        def work() -> bool:
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(TriggerKeyRow).values(key=key, run_id=run_id, at=at))
                return True
            except IntegrityError:
                return False
            except SQLAlchemyError as exc:
                raise JournalError(f"runbook journal: {exc}") from exc
        return await asyncio.to_thread(work)

    async def trigger_run(self, key: str) -> int | None:
        query = select(TriggerKeyRow.run_id).where(TriggerKeyRow.key == key)
        return await self._call(lambda conn: conn.execute(query).scalar())

    async def run_of_trigger(self, key: str) -> RunRecord | None:
        def work(conn: Connection) -> RunRecord | None:
            row = conn.execute(_RUN_OF_KEY, {"key": key}).mappings().first()
            return None if row is None else _run(row)
        return await self._read(work)

    async def trigger_keys(self, run_id: int) -> list[str]:
        query = (select(TriggerKeyRow.key).where(TriggerKeyRow.run_id == run_id)
                 .order_by(TriggerKeyRow.at))
        return await self._call(lambda conn: list(conn.execute(query).scalars()))


# Built once: what every repeated notification and every step of a run reads.
_RUN_OF_KEY = select(RunRow).join(TriggerKeyRow, TriggerKeyRow.run_id == RunRow.id).where(
    TriggerKeyRow.key == bindparam("key"))
_RUN = select(RunRow).where(RunRow.id == bindparam("run_id"))
_ACTIVE_IN = (select(RunRow).where(RunRow.ended_at.is_(None), RunRow.region == bindparam(
    "region")).order_by(RunRow.id.desc()).limit(bindparam("limit")))


def _run_or_raise(conn: Connection, run_id: int) -> RunRecord:
    row = conn.execute(_RUN, {"run_id": run_id}).mappings().first()
    if row is None:
        raise RunNotFound(f"no run #{run_id}; list runs with `covenant runbook status`")
    return _run(row)


def _sqlite_wal(connection: Any, _record: object) -> None:
    """SQLite: write-ahead log, synced at checkpoints. A commit survives the process being
    killed (what the journal must survive); only an OS crash may lose the last ones. It
    makes a journal write ~0.05 ms instead of ~0.6 ms (an fsync per commit)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _run(row: RowMapping) -> RunRecord:
    return RunRecord(row["id"], row["runbook"], row["region"], json.loads(row["inputs"]),
                     RunStatus(row["status"]), row["actor"], row["trigger"],
                     row["started_at"], row["deadline_at"], row["ended_at"], row["error"],
                     row["escalated_at"], row["incident_id"], row["resolved_at"])


def _step(row: RowMapping) -> StepRecord:
    return StepRecord(row["run_id"], row["idx"], row["step_id"], row["kind"],
                      StepStatus(row["status"]), row["actor"], row["started_at"],
                      row["ended_at"], row["output"], row["error"], row["attempt"])
