"""How a run ends: success, or failure with rollbacks and escalation. Journaled step by step.

A rollback step is *armed* once the run has passed it: it undoes what came before it, and
runs only if a LATER step fails (up to its ``until`` step when it names one). Armed
rollbacks run newest first; a failed rollback does not stop the others (each undoes
something different) and is named in the escalation.
Steps never reached are marked ``skipped`` so the record reads like a deploy log.
A run that failed in its opening checks (only checks ran, the first of them failed) did
nothing and confirmed nothing: it is not escalated (the trigger pages through its own
channel if it should; a flapping region must not page at a raised severity each time).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from kernel.clock import Clock
from runbooks.journal import FINAL_STEP, Journal, RunRecord, RunStatus, StepRecord, StepStatus
from runbooks.model import CheckStep, RollbackStep, Runbook, Step, VerifyStep
from runbooks.ports import Escalation, Escalator

log = logging.getLogger(__name__)
Execute = Callable[[RunRecord, Runbook, Step, StepRecord], Awaitable[StepRecord]]
Release = Callable[[RunRecord], Awaitable[None]]
_OPEN = (StepStatus.RUNNING, StepStatus.WAITING_APPROVAL)


class WindDown:
    def __init__(self, journal: Journal, escalator: Escalator, clock: Clock, execute: Execute,
                 release: Release) -> None:
        self._journal, self._escalator, self._clock = journal, escalator, clock
        self._execute, self._release = execute, release

    async def succeed(self, run: RunRecord, rb: Runbook) -> RunRecord:
        await self.skip_rest(run, "not needed: the run succeeded")
        run = replace(run, status=RunStatus.SUCCEEDED, ended_at=self._clock.time())
        await self._journal.save_run(run)
        await self._release(run)
        log.info("run #%d of %s in %s succeeded", run.id, rb.id, run.region)
        return run

    async def time_out(self, run: RunRecord, rb: Runbook) -> RunRecord:
        """The run's overall deadline passed: the open step and the run time out."""
        now, current = self._clock.time(), ""
        for rec in await self._journal.steps(run.id):
            if rec.status in _OPEN and rb.steps[rec.index].kind != "rollback":
                current = rec.step_id
                await self._journal.save_step(replace(rec, status=StepStatus.TIMED_OUT,
                                                      ended_at=now, error=(
                    f"the run's deadline ({rb.deadline_s:g} s) passed")))
        where = f" during step {current}" if current else ""
        run = replace(run, status=RunStatus.TIMED_OUT,
                      error=f"the run's deadline of {rb.deadline_s:g} s passed{where}")
        await self._journal.save_run(run)
        return await self.finish(run, rb)

    async def finish(self, run: RunRecord, rb: Runbook) -> RunRecord:
        """Run the armed rollbacks, close the run, release the region, escalate."""
        steps = await self._journal.steps(run.id)
        stop = next((r.index for r in steps if r.status not in (StepStatus.SUCCEEDED,
                     StepStatus.SKIPPED) and not isinstance(rb.steps[r.index], RollbackStep)),
                    len(steps))
        broken: list[str] = []
        for spec, rec in reversed(list(zip(rb.steps, steps, strict=True))[:stop]):
            if isinstance(spec, RollbackStep) and rec.status not in FINAL_STEP and _covers(
                    rb, spec, stop):
                rec = await self._execute(run, rb, spec, rec)
                if rec.status is not StepStatus.ROLLED_BACK:
                    broken.append(f"rollback {spec.id} {rec.status}: {rec.error}")
        await self.skip_rest(run, "not reached: the run failed")
        error = "; ".join([run.error, *broken])
        run = replace(run, ended_at=self._clock.time(), error=error)
        await self._journal.save_run(run)
        await self._release(run)
        log.error("run #%d of %s in %s %s: %s", run.id, rb.id, run.region, run.status, error)
        return await self.escalate_if_owed(run, rb)

    async def escalate_if_owed(self, run: RunRecord, rb: Runbook) -> RunRecord:
        if run.status not in (RunStatus.FAILED, RunStatus.TIMED_OUT) or run.escalated_at:
            return run
        steps = await self._journal.steps(run.id)
        if run.status is RunStatus.FAILED and unconfirmed(rb, steps):
            if UNCONFIRMED not in run.error:
                run = replace(run, error=f"{run.error}; {UNCONFIRMED}")
                await self._journal.save_run(run)
                log.info("run #%d of %s in %s: %s", run.id, rb.id, run.region, UNCONFIRMED)
            return run
        failed = next((r.step_id for r in steps if r.status in (StepStatus.FAILED,
                       StepStatus.TIMED_OUT)), "")
        now = self._clock.time()
        escalation = Escalation(
            run.id, rb.id, rb.title, run.region, rb.severity.raised().value,
            f"runbook {rb.id} {run.status} in {run.region}: {run.error}", failed, now,
            {"owner": rb.owner, "actor": run.actor, "trigger": run.trigger,
             "status": str(run.status), "controls": ", ".join(rb.controls),
             "steps": ", ".join(f"{r.step_id}={r.status}" for r in steps)})
        try:
            await self._escalator.escalate(escalation)
        except Exception as exc:  # never lose the run over a channel: the next sweep retries
            log.error("run #%d: escalation failed (retried on the next sweep): %r", run.id, exc)
            note = f"escalation failed: {exc}"
            if note not in run.error:
                run = replace(run, error=f"{run.error}; {note}")
                await self._journal.save_run(run)
            return run
        run = replace(run, escalated_at=now)
        await self._journal.save_run(run)
        return run

    async def skip_rest(self, run: RunRecord, why: str) -> None:
        now = self._clock.time()
        for rec in await self._journal.steps(run.id):
            if rec.status not in FINAL_STEP:
                await self._journal.save_step(replace(rec, status=StepStatus.SKIPPED,
                                                      ended_at=now, output=why))


UNCONFIRMED = ("not escalated: its opening checks did not confirm the problem, and nothing "
               "was done")


def owes_escalation(run: RunRecord) -> bool:
    """A failed or timed-out run not escalated yet (nor exempt as unconfirmed)."""
    return (run.status in (RunStatus.FAILED, RunStatus.TIMED_OUT) and run.escalated_at is None
            and UNCONFIRMED not in run.error)


def unconfirmed(rb: Runbook, steps: list[StepRecord]) -> bool:
    """Whether the run failed at an opening check: every step before the first failed one
    is a check, and that one is a check too. Pure."""
    failed = next((r.index for r in steps if r.status in (StepStatus.FAILED,
                                                         StepStatus.TIMED_OUT)), None)
    if failed is None or not isinstance(rb.steps[failed], CheckStep):
        return False
    return all(isinstance(s, CheckStep | VerifyStep) for s in rb.steps[:failed])


def _covers(rb: Runbook, rollback: RollbackStep, failed_index: int) -> bool:
    """Whether a failure at ``failed_index`` is within the rollback's ``until``."""
    if rollback.until is None:
        return True
    return failed_index <= [s.id for s in rb.steps].index(rollback.until)
