"""The executor: runs a runbook step by step against the journal, the one source of truth.

Every decision starts from the journal and every change is written to it before the next,
so a fresh :class:`Executor` over the same journal continues a run after a crash:

- a step ``succeeded`` or ``skipped`` is never run again;
- a step found ``running`` runs again only when :func:`runbooks.steps.resume_rule` says
  repeating it is safe; otherwise it fails ("interrupted; not repeated ...");
- ``approval`` and ``manual`` steps put the run in ``waiting`` and return; :meth:`approve`
  records the person and continues;
- a failing step fails the run; armed rollbacks run newest first (see
  :mod:`runbooks.winddown`), then the run is escalated;
- a run has an overall deadline; :meth:`Executor.sweep` (on a timer) times out stuck runs,
  fails overdue approvals, resumes orphaned runs and retries failed escalations;
- a runbook the stack cannot carry out (``refuse``: an actuator, check type or probe not
  wired, see :mod:`runbooks.capability`) is refused at :meth:`create`; its dry run works;
- when the alert that started a run resolves, :meth:`resolve` records it, and closes the
  run (``cancelled``) if it is parked waiting for a person: nobody need answer any more;
- each drive of a run is a ``runbook.run`` span with a child span per step
  (:mod:`runbooks.spans`), and a :class:`runbooks.ports.RunObserver` hears of runs started
  and ended and of steps failed (the control plane's metrics).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from opentelemetry.trace import NoOpTracer, Tracer

from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.locks import RegionLock
from kernel.regions import REGION_CODES
from runbooks.actuators import ACTUATORS, Catalogue, suggest
from runbooks.admission import lock_holder_name
from runbooks.errors import ApprovalRefused, NotAnApprover, RegionBusy, RunbookError
from runbooks.inputs import resolve_inputs
from runbooks.journal import Journal, RunDraft, RunRecord, RunStatus, StepRecord, StepStatus
from runbooks.model import (
    ApprovalStep,
    CheckStep,
    GateStep,
    ManualStep,
    RollbackStep,
    Runbook,
    Step,
    VerifyStep,
)
from runbooks.plan import PlannedStep, plan
from runbooks.ports import CallContext, Escalator, NoObserver, Runners, RunObserver
from runbooks.spans import (
    FAILED_STEP,
    RUN_SPAN,
    run_attributes,
    run_outcome,
    step_attributes,
    step_outcome,
    step_span,
)
from runbooks.steps import StepExec, resume_rule
from runbooks.winddown import WindDown, owes_escalation

log = logging.getLogger(__name__)
DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


class Executor:
    def __init__(self, runbooks: Mapping[str, Runbook], journal: Journal, runners: Runners,
                 escalator: Escalator, *, clock: Clock = SYSTEM_CLOCK,
                 lock: RegionLock | None = None, catalogue: Catalogue = ACTUATORS,
                 regions: Collection[str] = REGION_CODES, identity: str = "covenant",
                 refuse: Mapping[str, Sequence[str]] | None = None,
                 observer: RunObserver | None = None, tracer: Tracer | None = None) -> None:
        self._runbooks, self._journal, self._clock = runbooks, journal, clock
        self._observer = observer or NoObserver()
        self._tracer = tracer or NoOpTracer()
        self.refused: Mapping[str, Sequence[str]] = refuse or {}
        self._lock, self._catalogue, self._regions = lock, catalogue, regions
        self._identity = identity
        self._steps = StepExec(runners, clock, catalogue)
        self._wind = WindDown(journal, escalator, clock, self._execute, self._release)
        self._busy: set[int] = set()

    def runbook(self, runbook_id: str) -> Runbook:
        try:
            return self._runbooks[runbook_id]
        except KeyError:
            raise RunbookError(f"unknown runbook {runbook_id!r}"
                               f"{suggest(runbook_id, self._runbooks)}; list them with "
                               "`covenant runbook list`") from None

    def dry_run(self, runbook_id: str, inputs: Mapping[str, object]) -> list[PlannedStep]:
        """Every step with what it would call, substituted; nothing is called or journaled."""
        rb = self.runbook(runbook_id)
        return plan(rb, resolve_inputs(rb, inputs, self._regions))

    async def create(self, runbook_id: str, inputs: Mapping[str, object], actor: str,
                     trigger: str = "", incident: str | None = None) -> RunRecord:
        """Check the inputs, take the region lock and journal a new run (not started yet)."""
        rb = self.runbook(runbook_id)
        values = resolve_inputs(rb, inputs, self._regions)
        if rb.id in self.refused:
            raise RunbookError(f"{rb.id} cannot run for real in this stack:\n  "
                               + "\n  ".join(self.refused[rb.id])
                               + f"\nsee what it would do: covenant runbook run {rb.id} "
                               f"--region {values['region']} --dry-run")
        region, now = str(values["region"]), self._clock.time()
        if self._lock is not None and not await self._lock.acquire(
                region, lock_holder_name(rb.id), rb.deadline_s + 60):
            holder = await self._lock.holder(region)
            raise RegionBusy(f"region {region} is locked by {holder}; {rb.id} waits until it "
                             "is released (or its TTL passes)")
        run = await self._journal.create_run(RunDraft(
            rb.id, region, values, actor, trigger, now, now + rb.deadline_s,
            [(s.id, s.kind) for s in rb.steps], incident))
        if trigger:
            await self._journal.remember_trigger(trigger, run.id, now)
        self._observer.run_started(run)
        log.info("run #%d of %s in %s started by %s", run.id, rb.id, region, actor)
        return run

    async def start(self, runbook_id: str, inputs: Mapping[str, object], actor: str,
                    trigger: str = "") -> RunRecord:
        """Create and drive a run until it finishes or waits for a person."""
        run = await self.create(runbook_id, inputs, actor, trigger)
        return await self.drive(run.id)

    async def drive(self, run_id: int) -> RunRecord:
        """Continue a run from what the journal says (also after a crash)."""
        if run_id in self._busy:
            raise RunbookError(f"run #{run_id} is already being driven by this process; see "
                               f"`covenant runbook status {run_id}`")
        self._busy.add(run_id)
        try:
            run = await self._journal.run(run_id)
            with self._tracer.start_as_current_span(RUN_SPAN,
                                                    attributes=run_attributes(run)) as span:
                out = await self._drive(run)
                span.set_attributes(run_outcome(out))
            if run.active and not out.active:  # ended by this drive: counted once
                self._observer.run_ended(out)
            return out
        finally:
            self._busy.discard(run_id)

    async def approve(self, run_id: int, step_id: str, approver: str,
                      roles: Collection[str]) -> RunRecord:
        """Record ``approver`` on a waiting approval or manual step and continue the run."""
        await self.record_approval(run_id, step_id, approver, roles)
        return await self.drive(run_id)

    async def record_approval(self, run_id: int, step_id: str, approver: str,
                              roles: Collection[str]) -> RunRecord:
        """Check and journal an approval without driving on (an HTTP handler answers at once
        and drives the run in a task)."""
        run = await self._journal.run(run_id)
        rb = self.runbook(run.runbook)
        spec, rec = await self._waiting_gate(run, rb, step_id)
        if not set(roles) & set(spec.approvers):
            raise NotAnApprover(f"{approver} (roles: {', '.join(roles) or 'none'}) may not "
                                  f"approve {step_id}; it needs one of: "
                                  f"{', '.join(spec.approvers)}")
        now = self._clock.time()
        if rec.started_at is not None and now >= rec.started_at + spec.deadline_s:
            raise ApprovalRefused(f"step {step_id} of run #{run_id} passed its deadline "
                                  f"({spec.deadline_s:g} s); the run fails and escalates on "
                                  "the next sweep; start a new run if still needed")
        verb = "confirmed done" if isinstance(spec, ManualStep) else "approved"
        role = next(r for r in roles if r in spec.approvers)
        await self._journal.save_step(replace(rec, status=StepStatus.SUCCEEDED, actor=approver,
                                              ended_at=now, output=f"{verb} by {approver} "
                                              f"({role})"))
        run = replace(run, status=RunStatus.RUNNING)
        await self._journal.save_run(run)
        log.info("run #%d: %s %s by %s", run_id, step_id, verb, approver)
        return run

    async def resolve(self, run_id: int, why: str) -> RunRecord:
        """The alert that started the run resolved: record when; a run parked waiting for
        a person is closed (``cancelled``: its open gates and the steps after them are
        skipped, no rollback, no escalation: the cause went away); a run in progress goes
        on to its end (its checks see the recovery), an ended one is only marked."""
        now = self._clock.time()
        await self._journal.mark_resolved(run_id, now)
        run = await self._journal.run(run_id)
        if run.status is not RunStatus.WAITING or run_id in self._busy:
            return run
        await self._wind.skip_rest(run, f"not needed: {why}")
        run = replace(run, status=RunStatus.CANCELLED, ended_at=now, error=why)
        await self._journal.save_run(run)
        await self._release(run)
        self._observer.run_ended(run)
        log.info("run #%d of %s in %s closed: %s", run.id, run.runbook, run.region, why)
        return run

    async def sweep(self) -> list[RunRecord]:
        """Deadlines, orphans and owed escalations; call on a timer and at start-up."""
        owed = [r for r in await self._journal.list_runs(limit=200) if owes_escalation(r)]
        active = await self._journal.list_runs(active_only=True, limit=10_000)
        ids = sorted({r.id for r in [*active, *owed]} - self._busy)
        results = await asyncio.gather(*(self.drive(i) for i in ids), return_exceptions=True)
        out: list[RunRecord] = []
        for run_id, result in zip(ids, results, strict=True):
            if isinstance(result, BaseException):
                log.error("sweep: run #%d could not be driven: %r", run_id, result)
            else:
                out.append(result)
        return out

    async def _drive(self, run: RunRecord) -> RunRecord:
        rb = self.runbook(run.runbook)
        if not run.active:
            return await self._wind.escalate_if_owed(run, rb)
        if run.status in (RunStatus.FAILED, RunStatus.TIMED_OUT):
            return await self._wind.finish(run, rb)
        if self._lock is not None and not await self._lock.acquire(
                run.region, lock_holder_name(rb.id), run.deadline_at - self._clock.time() + 60):
            log.warning("run #%d continues without the %s region lock (held by %s)", run.id,
                        run.region, await self._lock.holder(run.region))
        try:
            if self._clock.time() >= run.deadline_at:
                raise TimeoutError
            async with asyncio.timeout(run.deadline_at - self._clock.time()):
                run = await self._forward(run, rb)
        except TimeoutError:
            return await self._wind.time_out(await self._journal.run(run.id), rb)
        if run.status is RunStatus.FAILED:
            return await self._wind.finish(run, rb)
        if run.status is RunStatus.SUCCEEDED:
            return await self._wind.succeed(run, rb)
        return run

    async def _forward(self, run: RunRecord, rb: Runbook) -> RunRecord:
        for spec, rec in zip(rb.steps, await self._journal.steps(run.id), strict=True):
            if rec.status in DONE or isinstance(spec, RollbackStep):
                continue
            if self._clock.time() >= run.deadline_at:
                raise TimeoutError
            if rec.status in (StepStatus.FAILED, StepStatus.TIMED_OUT):
                return await self._failed(run, rec)  # the process died before the run row
            if isinstance(spec, ManualStep | ApprovalStep):
                rec = await self._gate(run, spec, rec)
                if rec.status is StepStatus.WAITING_APPROVAL:
                    return await self._save_run(replace(run, status=RunStatus.WAITING))
                return await self._failed(run, rec)
            rec = await self._execute(run, rb, spec, rec)
            if rec.status not in DONE:
                return await self._failed(run, rec)
        return await self._save_run(replace(run, status=RunStatus.SUCCEEDED))

    async def _gate(self, run: RunRecord, spec: GateStep, rec: StepRecord) -> StepRecord:
        with self._tracer.start_as_current_span(step_span(spec),
                                                attributes=step_attributes(spec)) as span:
            rec = await self._visit_gate(spec, rec)
            span.set_attributes(step_outcome(rec))
        if rec.status in FAILED_STEP:
            self._observer.step_failed(run, rec)
        return rec

    async def _visit_gate(self, spec: GateStep, rec: StepRecord) -> StepRecord:
        now = self._clock.time()
        if rec.status is not StepStatus.WAITING_APPROVAL:
            rec = replace(rec, status=StepStatus.WAITING_APPROVAL, attempt=rec.attempt + 1,
                          started_at=rec.started_at if rec.started_at is not None else now)
            await self._journal.save_step(rec)
        assert rec.started_at is not None
        if now < rec.started_at + spec.deadline_s:
            return rec
        who = ", ".join(spec.approvers)
        rec = replace(rec, status=StepStatus.TIMED_OUT, ended_at=now, error=(
            f"nobody with a role of {who} answered within {spec.deadline_s:g} s"))
        await self._journal.save_step(rec)
        return rec

    async def _execute(self, run: RunRecord, rb: Runbook, spec: Step,
                       rec: StepRecord) -> StepRecord:
        """One step (rollbacks too: the wind-down calls this), as a span."""
        with self._tracer.start_as_current_span(step_span(spec),
                                                attributes=step_attributes(spec)) as span:
            rec = await self._run_step(run, rb, spec, rec)
            span.set_attributes(step_outcome(rec))
        if rec.status in FAILED_STEP:
            self._observer.step_failed(run, rec)
        return rec

    async def _run_step(self, run: RunRecord, rb: Runbook, spec: Step,
                        rec: StepRecord) -> StepRecord:
        if rec.status is StepStatus.RUNNING:
            again, why = resume_rule(spec, self._catalogue)
            log.warning("run #%d: step %s was interrupted: %s", run.id, spec.id, why)
            if not again:
                rec = replace(rec, status=StepStatus.FAILED, ended_at=self._clock.time(),
                              error=why)
                await self._journal.save_step(rec)
                return rec
        base = rec.attempt
        rec = replace(rec, status=StepStatus.RUNNING, actor=self._identity, error="",
                      started_at=rec.started_at or self._clock.time(), attempt=base + 1)
        await self._journal.save_step(rec)  # running, and its first attempt begun

        async def on_attempt(n: int) -> None:
            nonlocal rec
            if n > 1:  # the first is recorded with the running state (one write, not two)
                rec = replace(rec, attempt=base + n)
                await self._journal.save_step(rec)

        ctx = CallContext(run.id, rb.id, spec.id, run.region, base + 1)
        if isinstance(spec, CheckStep):
            out = await self._steps.check(spec, run.inputs, ctx, on_attempt)
        elif isinstance(spec, VerifyStep):
            out = await self._steps.verify(spec, run.inputs, ctx, on_attempt, run.deadline_at)
        elif isinstance(spec, ManualStep | ApprovalStep):
            raise AssertionError("gates are not executed")  # pragma: no cover
        else:
            out = await self._steps.act(spec, rb, run.inputs, ctx, on_attempt)
        rec = replace(rec, status=out.status, output=out.output, error=out.error,
                      ended_at=self._clock.time())
        await self._journal.save_step(rec)
        return rec

    async def _waiting_gate(self, run: RunRecord, rb: Runbook,
                            step_id: str) -> tuple[GateStep, StepRecord]:
        gates = [s.id for s in rb.steps if isinstance(s, ManualStep | ApprovalStep)]
        try:
            spec = rb.step(step_id)
        except KeyError:
            raise ApprovalRefused(f"run #{run.id} ({rb.id}) has no step {step_id!r}; its "
                                  f"gates: {', '.join(gates) or 'none'}") from None
        if not isinstance(spec, ManualStep | ApprovalStep):
            raise ApprovalRefused(f"{step_id} is a {spec.kind} step; only approval and manual "
                                  f"steps are approved ({', '.join(gates) or 'none here'})")
        rec = (await self._journal.steps(run.id))[rb.steps.index(spec)]
        if run.status is not RunStatus.WAITING or rec.status is not StepStatus.WAITING_APPROVAL:
            raise ApprovalRefused(f"step {step_id} of run #{run.id} is {rec.status} (run "
                                  f"{run.status}), not waiting for approval")
        return spec, rec

    async def _failed(self, run: RunRecord, rec: StepRecord) -> RunRecord:
        return await self._save_run(replace(run, status=RunStatus.FAILED, error=(
            f"step {rec.step_id} {rec.status}: {rec.error}")))

    async def _save_run(self, run: RunRecord) -> RunRecord:
        await self._journal.save_run(run)
        return run

    async def _release(self, run: RunRecord) -> None:
        if self._lock is not None:
            await self._lock.release(run.region, lock_holder_name(run.runbook))

