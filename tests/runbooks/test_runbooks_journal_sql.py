"""The SQL journal on SQLite files: round trips, a restart mid-run, trigger-key dedupe,
keyset paging over 10,000 runs, and the state migration building exactly these tables."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kernel.state.base import StateBase
from kernel.state.migrate import VERSION_TABLE, current_state_revision
from runbooks.errors import RunNotFound
from runbooks.journal import RunDraft, RunStatus, StepStatus
from runbooks.journal_sql import SqlJournal
from tests.runbooks.fakes import Crash, rig

GATED = """
id: gated
title: Gated
severity: P3
owner: sre
steps:
  - id: drain
    kind: action
    action: route.drain
    args: {region: "{{ inputs.region }}"}
  - id: promote
    kind: action
    action: db.failover
    args: {region: "{{ inputs.region }}"}
  - id: ok
    kind: approval
    prompt: go on?
    approvers: [sre]
    deadline_s: 600
  - id: restore
    kind: action
    action: route.restore
    args: {region: "{{ inputs.region }}"}
"""


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def draft(i: int = 0, region: str = "syd") -> RunDraft:
    return RunDraft("gated", region, {"region": region, "n": i}, "test", f"k{i}", 10.0 + i,
                    3610.0 + i, [("drain", "action"), ("ok", "approval")])


async def test_runs_and_steps_round_trip_across_a_reopen(url: str) -> None:
    journal = SqlJournal(url)
    run = await journal.create_run(draft(1))
    [drain, ok] = await journal.steps(run.id)
    assert (drain.step_id, drain.status, ok.kind) == ("drain", StepStatus.PENDING, "approval")
    from dataclasses import replace
    await journal.save_step(replace(drain, status=StepStatus.SUCCEEDED, actor="covenant",
                                    started_at=11.0, ended_at=12.5, output="x" * 5000,
                                    attempt=2))
    await journal.save_run(replace(run, status=RunStatus.WAITING, error="e"))
    journal.close()
    again = SqlJournal(url)
    got = await again.run(run.id)
    assert (got.status, got.inputs, got.error, got.ended_at) == (
        RunStatus.WAITING, {"n": 1, "region": "syd"}, "e", None)
    step = (await again.steps(run.id))[0]
    assert (step.status, step.attempt, step.ended_at) == (StepStatus.SUCCEEDED, 2, 12.5)
    assert len(step.output) == 4000 and step.output.endswith("[truncated]")
    with pytest.raises(RunNotFound, match="no run #99"):
        await again.run(99)
    again.close()


async def test_a_restarted_process_continues_a_run_from_the_sql_journal(url: str) -> None:
    first = rig(GATED)
    first.journal = SqlJournal(url)  # type: ignore[assignment]
    first.scripts["db.failover"] = [Crash()]
    with pytest.raises(Crash):
        await first.executor().start("gated", {"region": "syd"}, "test")
    first.journal.close()  # type: ignore[attr-defined]
    second = rig(GATED)  # a new process: new executor, new journal object, same database
    second.journal = SqlJournal(url)  # type: ignore[assignment]
    run = await second.executor().drive(1)
    assert run.status is RunStatus.FAILED and "interrupted; not repeated" in run.error
    assert second.called("route.drain") == [] and second.called("db.failover") == []
    steps = await second.journal.steps(1)
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED, StepStatus.FAILED,
                                         StepStatus.SKIPPED, StepStatus.SKIPPED]
    assert len(second.escalations.sent) == 1
    second.journal.close()  # type: ignore[attr-defined]


async def test_trigger_keys_dedupe_notifications(url: str) -> None:
    journal = SqlJournal(url)
    run = await journal.create_run(draft())
    assert await journal.remember_trigger("alert:fp@t0", run.id, 1.0)
    assert not await journal.remember_trigger("alert:fp@t0", run.id, 2.0)
    assert await journal.remember_trigger("verdict:latency:syd:5", run.id, 3.0)
    assert await journal.trigger_run("alert:fp@t0") == run.id
    assert await journal.trigger_run("alert:other@t0") is None
    assert await journal.trigger_keys(run.id) == ["alert:fp@t0", "verdict:latency:syd:5"]
    journal.close()


async def test_listing_10000_runs_pages_by_keyset(url: str) -> None:
    journal = SqlJournal(url)
    engine = sa.create_engine(url)
    rows = [{"runbook": "gated" if i % 2 else "other", "region": ("syd", "sin")[i % 2 // 1],
             "inputs": "{}", "status": "succeeded", "actor": "t", "trigger": "", "error": "",
             "started_at": float(i), "deadline_at": 1e9, "ended_at": None if i % 1000 else 1.0}
            for i in range(10_000)]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO rb_runs (runbook, region, inputs, status, actor, trigger, error, "
            "started_at, deadline_at, ended_at) VALUES (:runbook, :region, :inputs, :status, "
            ":actor, :trigger, :error, :started_at, :deadline_at, :ended_at)"), rows)
        plan = " ".join(str(r) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM rb_runs WHERE id < 500 ORDER BY id DESC LIMIT 50"))
    engine.dispose()
    assert "USING INTEGER PRIMARY KEY" in plan  # a range on the key, never a full scan + sort
    seen: list[int] = []
    before: int | None = None
    started = time.perf_counter()
    while True:
        page = await journal.list_runs(before=before, limit=500)
        if not page:
            break
        seen += [r.id for r in page]
        before = page[-1].id
    elapsed = time.perf_counter() - started
    assert seen == list(range(10_000, 0, -1)) and elapsed < 5.0
    gated = await journal.list_runs(runbook="gated", region="sin", limit=3)
    assert [r.id for r in gated] == [10_000, 9_998, 9_996]
    assert len(await journal.list_runs(active_only=True, limit=20_000)) == 9_990
    journal.close()


def test_the_state_migration_builds_exactly_the_journal_tables(url: str) -> None:
    SqlJournal(url).close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert current_state_revision(conn) is not None
            context = MigrationContext.configure(conn, opts={
                "version_table": VERSION_TABLE, "compare_type": True,
                "include_name": lambda name, type_, parent: (
                    type_ != "table" or bool(name and name.startswith("rb_")))})
            diff = compare_metadata(context, StateBase.metadata)
    finally:
        engine.dispose()
    assert [d for d in diff if "rb_" in str(d)] == []
