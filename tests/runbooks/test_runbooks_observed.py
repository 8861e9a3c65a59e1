"""What the executor tells the outside while it runs: a span per drive of a run with a child
per step (an in-memory exporter), and the observer told of runs started and ended and steps
failed, each once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runbooks.journal import RunRecord, RunStatus, StepRecord
from tests.runbooks.fakes import Rig, rig
from tests.runbooks.test_runbooks_executor import GATED, failover_rig


@dataclass
class Heard:
    """A RunObserver that writes down what it is told."""

    said: list[str] = field(default_factory=list)

    def run_started(self, run: RunRecord) -> None:
        self.said.append(f"started #{run.id} {run.runbook} {run.region}")

    def run_ended(self, run: RunRecord) -> None:
        self.said.append(f"ended #{run.id} {run.status}")

    def step_failed(self, run: RunRecord, step: StepRecord) -> None:
        self.said.append(f"step failed #{run.id} {step.step_id} {step.status}")


@pytest.fixture()
def exporter() -> Iterator[InMemorySpanExporter]:
    found = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(found))
    found.provider = provider  # type: ignore[attr-defined]
    yield found
    provider.shutdown()


def traced(r: Rig, exporter: InMemorySpanExporter) -> Rig:
    r.tracer = exporter.provider.get_tracer("test")  # type: ignore[attr-defined]
    return r


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None
            and s.parent.span_id == parent.context.span_id]


async def test_a_run_is_a_span_with_a_child_per_step(exporter: InMemorySpanExporter) -> None:
    r = traced(failover_rig(), exporter)
    run = await r.executor().start("failover", {"region": "syd"}, "alice")
    assert run.status is RunStatus.SUCCEEDED
    spans = exporter.get_finished_spans()
    [root] = [s for s in spans if s.name == "runbook.run"]
    assert root.parent is None
    assert dict(root.attributes or {}) == {
        "covenant.run_id": run.id, "covenant.runbook": "failover", "covenant.region": "syd",
        "covenant.actor": "alice", "covenant.run_status": "succeeded"}
    steps = children(spans, root)
    # Rollbacks not armed and steps skipped by skip_if are not executed: no span.
    assert [s.name for s in steps] == ["step down", "step drain", "step scale",
                                       "step promoted", "step promote", "step healthy"]
    down = dict(steps[0].attributes or {})
    assert down == {"covenant.step": "down", "covenant.step_kind": "check",
                    "covenant.step_status": "succeeded", "covenant.attempt": 1}
    assert dict(steps[1].attributes or {})["covenant.step_kind"] == "action"
    assert all(s.context.trace_id == root.context.trace_id for s in steps)
    assert root.start_time is not None and root.end_time is not None
    assert all(s.start_time is not None and s.end_time is not None
               and root.start_time <= s.start_time <= s.end_time <= root.end_time
               for s in steps)


async def test_a_retried_step_and_a_failure_with_rollbacks(
        exporter: InMemorySpanExporter) -> None:
    r = traced(failover_rig(**{"db.role:primary": ["up", "down"]}), exporter)
    r.scripts["db.failover"] = [RuntimeError("pg_promote refused")]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.FAILED
    spans = exporter.get_finished_spans()
    [root] = [s for s in spans if s.name == "runbook.run"]
    steps = {s.name: dict(s.attributes or {}) for s in children(spans, root)}
    assert steps["step down"]["covenant.attempt"] == 2
    assert steps["step promote"]["covenant.step_status"] == "failed"
    # the armed rollbacks ran inside the same drive, newest first
    assert [n for n in steps if n.startswith("step undo")] == ["step undo-scale",
                                                               "step undo-drain"]
    assert steps["step undo-drain"]["covenant.step_status"] == "rolled_back"
    assert (root.attributes or {})["covenant.run_status"] == "failed"


async def test_each_drive_of_a_gated_run_is_its_own_span(
        exporter: InMemorySpanExporter) -> None:
    r = traced(rig(GATED), exporter)
    ex = r.executor()
    run = await ex.start("gated", {"region": "iad"}, "test")
    await ex.approve(run.id, "ok", "alice", ["sre-lead"])
    await ex.approve(run.id, "fixed", "bob", ["sre"])
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "runbook.run"]
    assert [(s.attributes or {})["covenant.run_status"] for s in roots] == [
        "waiting", "waiting", "succeeded"]
    first = {s.name: dict(s.attributes or {}) for s in children(spans, roots[0])}
    assert first["step ok"]["covenant.step_status"] == "waiting_approval"
    assert first["step ok"]["covenant.step_kind"] == "approval"
    assert list(first) == ["step drain", "step ok"]
    # an approved gate is journaled by the approval, not visited again
    assert [s.name for s in children(spans, roots[2])] == ["step restore"]


async def test_without_a_tracer_a_run_runs_untraced() -> None:
    r = failover_rig()
    assert (await r.executor().start("failover", {"region": "syd"}, "t")).status \
        is RunStatus.SUCCEEDED


async def test_the_observer_hears_each_start_end_and_failed_step_once() -> None:
    heard = Heard()
    r = failover_rig()
    r.observer = heard
    r.scripts["db.failover"] = [RuntimeError("pg_promote refused")]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.FAILED
    assert await r.executor().sweep() == []  # nothing left to drive: nothing heard twice
    await r.executor().drive(run.id)
    assert heard.said == [f"started #{run.id} failover syd",
                          f"step failed #{run.id} promote failed",
                          f"ended #{run.id} failed"]


async def test_the_observer_hears_a_gate_timing_out_and_a_run_cancelled() -> None:
    heard = Heard()
    r = rig(GATED)
    r.observer = heard
    late = await r.executor().start("gated", {"region": "iad"}, "test")
    r.clock.advance(600)
    [swept] = await r.executor().sweep()
    assert swept.status is RunStatus.FAILED
    closed = await r.executor().start("gated", {"region": "iad"}, "test")
    assert closed.status is RunStatus.WAITING
    assert (await r.executor().resolve(closed.id, "alert resolved")).status \
        is RunStatus.CANCELLED
    assert heard.said == [f"started #{late.id} gated iad",
                          f"step failed #{late.id} ok timed_out",
                          f"ended #{late.id} failed",
                          f"started #{closed.id} gated iad",
                          f"ended #{closed.id} cancelled"]
