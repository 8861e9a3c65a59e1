"""What phase 2 added to the engine: runbooks a stack cannot carry out (refused for real,
dry run only), alerts resolving their runs, incidents linked to runs, and one run per
notification however many copies arrive at once."""

from __future__ import annotations

import asyncio

import pytest

from runbooks.capability import Wired, blocked, unwired_problems
from runbooks.dispatch import AlertNotice, Dispatcher
from runbooks.errors import RunbookError
from runbooks.journal import RunStatus, StepStatus
from runbooks.spec import load_library, parse_runbook
from tests.runbooks.fakes import rig, statuses

GATED = """
id: gated
title: Gated
severity: P3
owner: sre
triggers:
  - alert: TestAlert
steps:
  - id: look
    kind: check
    check: {type: probe, probe: region.health, args: {region: "{{ inputs.region }}"}}
    expect: {equals: healthy}
  - id: drain
    kind: action
    action: route.drain
    args: {region: "{{ inputs.region }}"}
  - id: ok
    kind: approval
    prompt: go on?
    approvers: [sre-lead]
    deadline_s: 600
  - id: restore
    kind: action
    action: route.restore
    args: {region: "{{ inputs.region }}"}
"""
MIXED = """
id: mixed
title: Mixed
severity: P3
owner: sre
steps:
  - id: recorded
    kind: check
    check: {type: promql, query: up}
    expect: {above: 0}
    on_fail: continue
  - id: guard
    kind: check
    check: {type: probe, probe: chaos.paused}
    expect: {equals: true}
    on_fail: continue
  - id: pause
    kind: action
    action: chaos.pause
    skip_if: guard
  - id: freeze
    kind: action
    action: deploy.freeze
  - id: essential
    kind: verify
    check: {type: sql, database: core-syd, query: select 1}
    expect: {equals: 1}
    deadline_s: 10
"""
WIRED = Wired(actuators={"chaos.pause"}, check_types={"probe"}, probes=set(),
              why_not={"deploy.freeze": "no pipeline", "sql checks": "x",
                       "chaos.paused": "no proxy"})


def test_unwired_steps_are_named_and_recorded_checks_do_not_block() -> None:
    rb = parse_runbook(MIXED, "mixed.yaml")
    found = unwired_problems(rb, WIRED)
    assert found == [
        "mixed.yaml:14: steps[1].check.probe: probe chaos.paused cannot observe here: no "
        "proxy; this runbook runs only as a dry run here",
        "mixed.yaml:23: steps[3].action: deploy.freeze cannot act here: no pipeline; this "
        "runbook runs only as a dry run here",
        "mixed.yaml:26: steps[4].check.type: sql checks cannot observe here: it is not wired "
        "in this stack; this runbook runs only as a dry run here",
    ]
    all_wired = Wired({"chaos.pause", "deploy.freeze"}, {"probe", "sql"}, {"chaos.paused"})
    assert unwired_problems(rb, all_wired) == []  # promql's "recorded" check never blocks


def test_the_library_in_a_bare_stack() -> None:
    refused = blocked(load_library(), Wired())
    assert set(refused) == {rb for rb in load_library()}  # nothing wired: nothing runs


async def test_a_refused_runbook_starts_nothing_but_its_dry_run_works() -> None:
    r = rig(GATED)
    executor = r.executor()
    executor.refused = {"gated": ["gated.yaml:1: x: cannot act here"]}
    with pytest.raises(RunbookError, match=r"(?s)gated cannot run for real.*cannot act here.*"
                                           r"covenant runbook run gated --region syd --dry-run"):
        await executor.create("gated", {"region": "syd"}, "t")
    assert not r.journal.runs
    assert [s.id for s in executor.dry_run("gated", {"region": "syd"})][:2] == ["look", "drain"]


async def _dispatcher() -> tuple[Dispatcher, object]:
    r = rig(GATED)
    r.probes.script = {"region.health": ["healthy"]}
    executor = r.executor()
    return Dispatcher(r.runbooks, executor, r.journal, r.lock), r


def _alert(firing: bool = True, fingerprint: str = "fp1") -> AlertNotice:
    return AlertNotice("TestAlert", {"alertname": "TestAlert", "region": "syd"}, fingerprint,
                       "2026-12-07T10:00:00Z", firing=firing)


async def test_copies_of_one_notification_arriving_together_start_one_run() -> None:
    dispatcher, r = await _dispatcher()
    outcomes = await asyncio.gather(*(dispatcher.on_alert(_alert()) for _ in range(20)))
    runs = {o.run_id for found in outcomes for o in found}
    assert runs == {1} and len(r.journal.runs) == 1  # type: ignore[attr-defined]
    assert [o.admission.decision for found in outcomes for o in found].count("admit") == 1


async def test_a_resolved_alert_closes_its_waiting_run_without_rollback_or_escalation() -> None:
    dispatcher, r = await _dispatcher()
    [started] = await dispatcher.on_alert(_alert())
    assert started.run_id is not None
    await asyncio.gather(*dispatcher.tasks)
    run = await r.journal.run(started.run_id)  # type: ignore[attr-defined]
    assert run.status is RunStatus.WAITING
    [closed] = await dispatcher.on_alert(_alert(firing=False))
    run = await r.journal.run(started.run_id)  # type: ignore[attr-defined]
    assert run.status is RunStatus.CANCELLED and not run.active and run.resolved_at
    assert "TestAlert resolved" in closed.admission.reason
    steps = statuses(await r.journal.steps(run.id))  # type: ignore[attr-defined]
    assert steps == {"look": "succeeded", "drain": "succeeded", "ok": "skipped",
                     "restore": "skipped"}
    assert not r.escalations.sent  # type: ignore[attr-defined]
    assert await r.lock.holder("syd") is None  # type: ignore[attr-defined]
    again = await dispatcher.on_alert(_alert())  # a repeat of the same notification
    assert again[0].admission.decision == "refuse" and "repeat" in again[0].admission.reason


async def test_a_resolved_alert_only_marks_a_run_that_goes_on() -> None:
    dispatcher, r = await _dispatcher()
    run = await r.executor().create("gated", {"region": "syd"}, "t",  # type: ignore[attr-defined]
                                    "alert:fp2@2026-12-07T10:00:00Z")
    await dispatcher.on_alert(_alert(firing=False, fingerprint="fp2"))
    marked = await r.journal.run(run.id)  # type: ignore[attr-defined]
    assert marked.status is RunStatus.RUNNING and marked.resolved_at is not None
    assert await dispatcher.on_alert(_alert(firing=False, fingerprint="never")) == []


class Desk:
    def __init__(self) -> None:
        self.open: dict[str, tuple[str, str | None]] = {}

    async def incident(self, region: str) -> tuple[str, str | None] | None:
        return self.open.get(region)


async def test_runs_link_to_the_incident_open_when_they_start_or_later() -> None:
    r = rig(GATED)
    r.probes.script = {"region.health": ["healthy"]}
    desk = Desk()
    dispatcher = Dispatcher(r.runbooks, r.executor(), r.journal, r.lock, desk)
    [first] = await dispatcher.on_alert(_alert())
    assert (await r.journal.run(first.run_id or 0)).incident is None
    desk.open["syd"] = ("inc-syd-1", "gated")
    await dispatcher.on_alert(_alert())  # the repeat attaches, and links the incident
    assert (await r.journal.run(first.run_id or 0)).incident == "inc-syd-1"
    assert await r.journal.incident_runs(["inc-syd-1", "inc-x"]) == {"inc-syd-1": [1]}
    await asyncio.gather(*dispatcher.tasks)


async def test_a_step_that_cannot_observe_with_on_fail_continue_is_recorded() -> None:
    r = rig(MIXED.replace("deploy.freeze", "chaos.resume"))
    r.probes.script = {"chaos.paused": [False]}
    r.queries.script = {"up": [RuntimeError("prometheus down")], "select 1": [1]}
    run = await r.executor().start("mixed", {"region": "syd"}, "t")
    steps = await r.journal.steps(run.id)
    assert run.status is RunStatus.SUCCEEDED
    assert steps[0].status is StepStatus.SUCCEEDED
    assert "prometheus down" in steps[0].output and "not observed" in steps[0].output
