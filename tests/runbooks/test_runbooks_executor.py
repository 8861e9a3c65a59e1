"""The executor against fake runners and the in-memory journal: happy path, failures and
rollbacks, retries, timeouts, idempotency, approvals, deadlines, crash and resume."""

from __future__ import annotations

import asyncio

import pytest

from runbooks.errors import ApprovalRefused, RegionBusy, RunbookError
from runbooks.journal import RunStatus, StepStatus
from tests.runbooks.fakes import HANG, Crash, Rig, rig, statuses
from tests.waiting import eventually

FAILOVER = """
id: failover
title: Fail over
severity: P2
owner: sre
inputs:
  - {name: replicas, type: int, default: 3}
steps:
  - id: down
    kind: check
    check: {type: probe, probe: db.role, args: {region: "{{ inputs.region }}", node: primary}}
    expect: {equals: down}
    retries: 2
    retry_delay_s: 10
  - id: drain
    kind: action
    action: route.drain
    args: {region: "{{ inputs.region }}"}
  - id: undo-drain
    kind: rollback
    action: route.restore
    args: {region: "{{ inputs.region }}"}
  - id: scale
    kind: action
    action: scale
    args: {region: "{{ inputs.region }}", service: api, replicas: "{{ inputs.replicas }}"}
  - id: undo-scale
    kind: rollback
    action: chaos.resume
    args: {reason: undo scale}
  - id: promoted
    kind: check
    check: {type: probe, probe: db.role, args: {region: "{{ inputs.region }}", node: standby}}
    expect: {equals: primary}
    on_fail: continue
  - id: promote
    kind: action
    action: db.failover
    args: {region: "{{ inputs.region }}"}
    skip_if: promoted
  - id: healthy
    kind: verify
    check: {type: probe, probe: region.health, args: {region: "{{ inputs.region }}"}}
    expect: {equals: healthy}
    deadline_s: 60
    interval_s: 10
"""

GATED = """
id: gated
title: Gated
severity: P3
owner: sre
deadline_s: 3600
steps:
  - id: drain
    kind: action
    action: route.drain
    args: {region: "{{ inputs.region }}"}
  - id: undo-drain
    kind: rollback
    action: route.restore
    args: {region: "{{ inputs.region }}"}
  - id: ok
    kind: approval
    prompt: go on in {{ inputs.region }}?
    approvers: [sre-lead]
    deadline_s: 600
  - id: fixed
    kind: manual
    instruction: fix it
    approvers: [sre]
    deadline_s: 600
  - id: restore
    kind: action
    action: route.restore
    args: {region: "{{ inputs.region }}"}
"""


def failover_rig(**probes: list[object]) -> Rig:
    r = rig(FAILOVER)
    r.probes.script = {"db.role:primary": ["down"], "db.role:standby": ["standby"],
                       "region.health": ["healthy"], **probes}
    return r


async def test_a_clean_run_succeeds_with_substituted_typed_arguments() -> None:
    r = failover_rig()
    run = await r.executor().start("failover", {"region": "syd", "replicas": "5"}, "test")
    assert run.status is RunStatus.SUCCEEDED and run.ended_at is not None
    steps = await r.journal.steps(run.id)
    assert statuses(steps) == {
        "down": "succeeded", "drain": "succeeded", "undo-drain": "skipped",
        "scale": "succeeded", "undo-scale": "skipped", "promoted": "succeeded",
        "promote": "succeeded", "healthy": "succeeded"}
    assert r.called("scale") == [{"region": "syd", "service": "api", "replicas": 5}]
    assert r.called("db.failover") == [{"region": "syd"}]
    assert "not held" in steps[5].output and "on_fail: continue" in steps[5].output
    assert r.escalations.sent == [] and r.order == ["route.drain", "scale", "db.failover"]
    assert r.lock is not None and await r.lock.holder("syd") is None  # released


async def test_a_failing_step_runs_armed_rollbacks_newest_first_then_escalates() -> None:
    r = failover_rig()
    r.scripts["db.failover"] = [RuntimeError("pg_promote refused")]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.FAILED and run.ended_at is not None
    assert "step promote failed" in run.error and "pg_promote refused" in run.error
    assert r.order == ["route.drain", "scale", "db.failover", "chaos.resume", "route.restore"]
    s = statuses(await r.journal.steps(run.id))
    assert s["undo-scale"] == s["undo-drain"] == "rolled_back"
    assert s["healthy"] == "skipped" and s["promote"] == "failed"
    [esc] = r.escalations.sent
    assert (esc.run_id, esc.severity, esc.step_id, esc.region) == (run.id, "P1", "promote", "syd")
    assert esc.dedup_key == f"covenant-runbook-{run.id}"
    assert (await r.journal.run(run.id)).escalated_at is not None


async def test_a_failure_before_a_rollback_leaves_it_unarmed() -> None:
    r = failover_rig(**{"db.role:primary": ["up"]})
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.FAILED and r.order == []
    s = statuses(await r.journal.steps(run.id))
    assert s["down"] == "failed" and s["undo-drain"] == "skipped"
    assert "observed 'up'" in run.error
    # Its opening check did not confirm the problem and nothing was done: nobody is paged.
    assert not r.escalations.sent and "not escalated: its opening checks" in run.error
    assert (await r.executor().sweep()) == [] and not r.escalations.sent


async def test_a_check_is_retried_with_its_delay_on_the_injected_clock() -> None:
    r = failover_rig(**{"db.role:primary": ["up", "up", "down"]})
    before = r.clock.now()
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.SUCCEEDED
    down = (await r.journal.steps(run.id))[0]
    assert down.attempt == 3 and r.clock.now() - before == pytest.approx(20)


async def test_verify_polls_until_it_holds_and_fails_at_its_deadline() -> None:
    r = failover_rig(**{"region.health": ["down", "degraded", "healthy"]})
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.SUCCEEDED
    assert (await r.journal.steps(run.id))[-1].attempt == 3
    r2 = failover_rig(**{"region.health": ["down"]})
    run2 = await r2.executor().start("failover", {"region": "syd"}, "test")
    assert run2.status is RunStatus.FAILED
    assert "not held within 60 s (7 polls)" in run2.error


async def test_skip_if_skips_an_action_already_done() -> None:
    r = failover_rig(**{"db.role:standby": ["primary"]})
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    promote = (await r.journal.steps(run.id))[6]
    assert promote.status is StepStatus.SKIPPED and "already done" in promote.output
    assert r.called("db.failover") == []


async def test_a_timed_out_action_is_retried_only_when_repeating_is_safe() -> None:
    text = FAILOVER.replace("    skip_if: promoted\n", "    timeout_s: 0.01\n    retries: 2\n"
                            "    retry_delay_s: 1\n")
    r = rig(text)
    r.probes.script = {"db.role:primary": ["down"], "db.role:standby": ["standby"],
                       "region.health": ["healthy"]}
    r.scripts["db.failover"] = [HANG]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.FAILED and len(r.called("db.failover")) == 1
    assert "may or may not have happened" in run.error
    r2 = rig(text.replace("action: db.failover", "action: cache.flush"))
    r2.probes.script = r.probes.script
    r2.scripts["cache.flush"] = [HANG]
    await r2.executor().start("failover", {"region": "syd"}, "test")
    assert len(r2.called("cache.flush")) == 3  # idempotent: every attempt


async def test_an_actuator_that_raised_is_retried() -> None:
    text = FAILOVER.replace("    skip_if: promoted\n", "    retries: 1\n    retry_delay_s: 1\n")
    r = rig(text)
    r.probes.script = {"db.role:primary": ["down"], "db.role:standby": ["standby"],
                       "region.health": ["healthy"]}
    r.scripts["db.failover"] = [RuntimeError("busy"), "ok"]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.SUCCEEDED and len(r.called("db.failover")) == 2
    assert (await r.journal.steps(run.id))[6].attempt == 2


async def test_approvals_wait_refuse_the_wrong_role_and_record_the_approver() -> None:
    r = rig(GATED)
    ex = r.executor()
    run = await ex.start("gated", {"region": "iad"}, "test")
    assert run.status is RunStatus.WAITING and run.ended_at is None
    with pytest.raises(ApprovalRefused, match="needs one of: sre-lead"):
        await ex.approve(run.id, "ok", "bob", ["sre"])
    with pytest.raises(ApprovalRefused, match="is pending"):
        await ex.approve(run.id, "fixed", "bob", ["sre"])
    with pytest.raises(ApprovalRefused, match="drain is a action step"):
        await ex.approve(run.id, "drain", "bob", ["sre"])
    run = await r.executor().approve(run.id, "ok", "alice", ["sre-lead"])  # a fresh process
    assert run.status is RunStatus.WAITING
    run = await ex.approve(run.id, "fixed", "bob", ["oncall", "sre"])
    assert run.status is RunStatus.SUCCEEDED
    steps = await r.journal.steps(run.id)
    assert (steps[2].actor, steps[2].output) == ("alice", "approved by alice (sre-lead)")
    assert steps[3].output == "confirmed done by bob (sre)"
    assert r.order == ["route.drain", "route.restore"]  # the final step, not the rollback


async def test_an_unanswered_approval_fails_the_run_on_the_sweep_and_escalates() -> None:
    r = rig(GATED)
    run = await r.executor().start("gated", {"region": "iad"}, "test")
    r.clock.advance(599)
    assert [x.status for x in await r.executor().sweep()] == [RunStatus.WAITING]
    r.clock.advance(1)
    with pytest.raises(ApprovalRefused, match="passed its deadline"):
        await r.executor().approve(run.id, "ok", "alice", ["sre-lead"])
    [swept] = await r.executor().sweep()
    assert swept.status is RunStatus.FAILED and "nobody with a role of sre-lead" in swept.error
    s = statuses(await r.journal.steps(run.id))
    assert s == {"drain": "succeeded", "undo-drain": "rolled_back", "ok": "timed_out",
                 "fixed": "skipped", "restore": "skipped"}
    assert len(r.escalations.sent) == 1 and await r.executor().sweep() == []


async def test_a_waiting_run_past_its_overall_deadline_times_out() -> None:
    r = rig(GATED.replace("deadline_s: 3600", "deadline_s: 900"))
    run = await r.executor().start("gated", {"region": "iad"}, "test")
    await r.executor().approve(run.id, "ok", "alice", ["sre-lead"])
    r.clock.advance(901)
    [swept] = await r.executor().sweep()
    assert swept.status is RunStatus.TIMED_OUT
    assert "deadline of 900 s passed during step fixed" in swept.error
    assert statuses(await r.journal.steps(run.id))["fixed"] == "timed_out"
    assert r.escalations.sent[0].reason.startswith("runbook gated timed_out in iad")


async def test_a_stuck_step_is_cut_by_the_run_deadline() -> None:
    r = rig(FAILOVER.replace("owner: sre", "owner: sre\ndeadline_s: 0.05").replace(
        "    skip_if: promoted\n", "    timeout_s: 3600\n"))
    r.probes.script = {"db.role:primary": ["down"], "db.role:standby": ["standby"],
                       "region.health": ["healthy"]}
    r.scripts["db.failover"] = [HANG]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.TIMED_OUT
    s = statuses(await r.journal.steps(run.id))
    assert s["promote"] == "timed_out" and s["undo-drain"] == "rolled_back"


async def test_a_crash_mid_action_is_not_repeated_without_an_idempotency_check() -> None:
    text = FAILOVER.replace("    skip_if: promoted\n", "")
    r = rig(text)
    r.probes.script = {"db.role:primary": ["down"], "db.role:standby": ["standby"],
                       "region.health": ["healthy"]}
    r.scripts["db.failover"] = [Crash()]
    with pytest.raises(Crash):
        await r.executor().start("failover", {"region": "syd"}, "test")
    [run] = r.journal.runs.values()
    assert run.status is RunStatus.RUNNING
    assert statuses(await r.journal.steps(run.id))["promote"] == "running"
    resumed = await r.executor().drive(run.id)  # the restarted process
    assert resumed.status is RunStatus.FAILED
    assert "interrupted; not repeated because db.failover is not idempotent" in resumed.error
    assert len(r.called("db.failover")) == 1 and r.called("route.drain") == [{"region": "syd"}]
    assert r.order[-2:] == ["chaos.resume", "route.restore"]


async def test_a_crash_mid_action_with_skip_if_asks_the_check_first() -> None:
    r = failover_rig()
    r.scripts["db.failover"] = [Crash()]
    with pytest.raises(Crash):
        await r.executor().start("failover", {"region": "syd"}, "test")
    r.probes.script["db.role:standby"] = ["primary"]  # the interrupted attempt did it
    resumed = await r.executor().drive(1)
    assert resumed.status is RunStatus.SUCCEEDED and len(r.called("db.failover")) == 1
    assert (await r.journal.steps(1))[6].status is StepStatus.SKIPPED
    assert r.called("route.drain") == [{"region": "syd"}]  # succeeded steps never re-run


async def test_a_crash_mid_idempotent_action_repeats_it() -> None:
    r = failover_rig()
    r.scripts["scale"] = [Crash(), "ok"]
    with pytest.raises(Crash):
        await r.executor().start("failover", {"region": "syd"}, "test")
    resumed = await r.executor().drive(1)
    assert resumed.status is RunStatus.SUCCEEDED and len(r.called("scale")) == 2
    assert (await r.journal.steps(1))[3].attempt == 2
    assert r.called("route.drain") == [{"region": "syd"}]


async def test_a_crash_during_rollback_finishes_the_rollbacks_on_resume() -> None:
    r = failover_rig()
    r.scripts["db.failover"] = [RuntimeError("no")]
    r.scripts["chaos.resume"] = [Crash(), "ok"]
    with pytest.raises(Crash):
        await r.executor().start("failover", {"region": "syd"}, "test")
    assert (await r.journal.run(1)).status is RunStatus.FAILED and r.escalations.sent == []
    resumed = await r.executor().drive(1)
    assert resumed.ended_at is not None and len(r.escalations.sent) == 1
    assert r.order[-3:] == ["chaos.resume", "chaos.resume", "route.restore"]


async def test_a_failed_escalation_is_recorded_and_retried_by_the_sweep() -> None:
    r = failover_rig(**{"region.health": ["down"]})  # fails after it acted: escalated
    r.escalations.fail_next = 1
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.escalated_at is None and "escalation failed: pager unreachable" in run.error
    [swept] = await r.executor().sweep()
    assert swept.escalated_at is not None and len(r.escalations.sent) == 1


async def test_the_region_lock_refuses_a_second_holder_and_is_released() -> None:
    r = failover_rig()
    assert r.lock is not None and await r.lock.acquire("syd", "gameday:g1", 600)
    with pytest.raises(RegionBusy, match="locked by gameday:g1"):
        await r.executor().start("failover", {"region": "syd"}, "test")
    assert r.journal.runs == {}
    await r.lock.release("syd", "gameday:g1")
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.SUCCEEDED and await r.lock.holder("syd") is None


async def test_bad_inputs_and_unknown_runbooks_are_refused_before_anything_runs() -> None:
    r = failover_rig()
    with pytest.raises(RunbookError, match="region 'xyz' does not exist"):
        await r.executor().start("failover", {"region": "xyz"}, "test")
    with pytest.raises(RunbookError, match=r"'12x' is not an integer"):
        await r.executor().start("failover", {"region": "syd", "replicas": "12x"}, "test")
    with pytest.raises(RunbookError, match="did you mean 'failover'"):
        await r.executor().start("failovr", {"region": "syd"}, "test")
    assert r.journal.runs == {} and r.order == []


async def test_one_run_is_driven_once_per_process() -> None:
    r = failover_rig()
    r.scripts["route.drain"] = [HANG]
    ex = r.executor()
    task = asyncio.create_task(ex.start("failover", {"region": "syd"}, "test"))
    await eventually(lambda: bool(r.order), "the drain to start")
    with pytest.raises(RunbookError, match="already being driven"):
        await ex.drive(1)
    assert await ex.sweep() == []  # the sweep leaves a run this process drives alone
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_dry_run_lists_substituted_calls_and_calls_nothing() -> None:
    r = failover_rig()
    steps = r.executor().dry_run("failover", {"region": "sin", "replicas": 4})
    assert [s.id for s in steps][:2] == ["down", "drain"]
    assert steps[3].call == "scale(region='sin', service='api', replicas=4)"
    assert steps[0].call == "probe db.role(region=sin, node=primary); expect equals 'down'"
    assert "skipped when check 'promoted' holds" in steps[6].note
    assert r.order == [] and r.probes.seen == [] and r.journal.runs == {}
