"""Running one step: retries, per-attempt timeouts, verify polling and the ``skip_if`` guard.

No journal here: :class:`StepExec` returns an :class:`Outcome` and reports each attempt
through a callback, and the executor writes both. Rules that keep repeated calls safe:

- a check is retried on an error or when its expectation does not hold (it only reads);
  with ``on_fail: continue`` what it saw, or that it could not see, is recorded and the run
  goes on (a ``skip_if`` guard asks again before its action and fails when it cannot tell);
- an action is retried after its actuator *raised* (it did not happen); after a timeout it
  is retried only when repeating is known to be safe: the actuator is idempotent, or the
  ``skip_if`` check, asked again first, says it is not done yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from kernel.clock import Clock
from runbooks.actuators import ACTUATORS, Catalogue
from runbooks.journal import StepStatus
from runbooks.model import ActionStep, CheckStep, RollbackStep, Runbook, VerifyStep
from runbooks.plan import call_text, substitute_args, substitute_check
from runbooks.ports import CallContext, Runners
from runbooks.templating import Scalar

log = logging.getLogger(__name__)
OnAttempt = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: StepStatus
    output: str = ""
    error: str = ""


class StepExec:
    def __init__(self, runners: Runners, clock: Clock, catalogue: Catalogue = ACTUATORS) -> None:
        self._runners, self._clock, self._catalogue = runners, clock, catalogue

    async def check(self, step: CheckStep, inputs: Mapping[str, Scalar], ctx: CallContext,
                    on_attempt: OnAttempt) -> Outcome:
        held: bool | None = None
        last = Outcome(StepStatus.FAILED)
        for attempt in range(1, step.retries + 2):
            if attempt > 1:
                await self._clock.sleep(step.retry_delay_s)
            await on_attempt(attempt)
            held, last = await self._observe(step, inputs, ctx)
            if held:
                return last
        if held is not True and step.on_fail == "continue":  # recorded, the run goes on
            seen = "" if held is False else "not observed; "
            return Outcome(StepStatus.SUCCEEDED, f"{last.error} ({seen}on_fail: continue)")
        return last

    async def verify(self, step: VerifyStep, inputs: Mapping[str, Scalar], ctx: CallContext,
                     on_attempt: OnAttempt, run_deadline: float) -> Outcome:
        """Poll until the expectation holds or ``deadline_s`` passes (``retries`` unused)."""
        until = min(self._clock.time() + step.deadline_s, run_deadline)
        attempt, last = 0, Outcome(StepStatus.FAILED)
        while True:
            attempt += 1
            await on_attempt(attempt)
            held, last = await self._observe(step, inputs, ctx)
            if held:
                return last
            if self._clock.time() + step.interval_s > until:
                why = last.error or last.output
                return Outcome(StepStatus.FAILED, error=f"not held within "
                               f"{step.deadline_s:g} s ({attempt} polls); last: {why}")
            await self._clock.sleep(step.interval_s)

    async def act(self, step: ActionStep | RollbackStep, runbook: Runbook,
                  inputs: Mapping[str, Scalar], ctx: CallContext,
                  on_attempt: OnAttempt) -> Outcome:
        skip_if = step.skip_if if isinstance(step, ActionStep) else None
        guard = runbook.step(skip_if) if skip_if else None
        done = Outcome(StepStatus.ROLLED_BACK if isinstance(step, RollbackStep)
                       else StepStatus.SUCCEEDED)
        last = Outcome(StepStatus.FAILED)
        for attempt in range(1, step.retries + 2):
            if attempt > 1:
                await self._clock.sleep(step.retry_delay_s)
            if isinstance(guard, CheckStep):
                skip = await self._guard(guard, inputs, ctx, first=attempt == 1)
                if skip is not None:
                    return skip
            await on_attempt(attempt)
            last = await self._call(step, inputs, ctx, attempt)
            if last.status is StepStatus.SUCCEEDED:
                return Outcome(done.status, last.output)
            if last.status is StepStatus.TIMED_OUT and not self._repeatable(step):
                return last
        return last

    def _repeatable(self, step: ActionStep | RollbackStep) -> bool:
        spec = self._catalogue.get(step.action)
        return bool(spec and spec.idempotent) or bool(isinstance(step, ActionStep)
                                                      and step.skip_if)

    async def _guard(self, guard: CheckStep, inputs: Mapping[str, Scalar], ctx: CallContext,
                     first: bool) -> Outcome | None:
        """An outcome when the guard says "already done" or cannot tell; None: go ahead."""
        held, seen = await self._observe(guard, inputs, ctx)
        if held:
            status = StepStatus.SKIPPED if first else StepStatus.SUCCEEDED
            lead = "already done" if first else "done by an earlier attempt"
            return Outcome(status, f"{lead}: check {guard.id!r} {seen.output}")
        if held is False:
            return None
        return Outcome(StepStatus.FAILED, error=f"cannot tell whether it is already done: "
                       f"check {guard.id!r}: {seen.error}")

    async def _observe(self, step: CheckStep | VerifyStep, inputs: Mapping[str, Scalar],
                       ctx: CallContext) -> tuple[bool | None, Outcome]:
        """(True: held, False: did not hold, None: could not observe; the outcome to record)."""
        check = substitute_check(step.check, inputs)
        runner = self._runners.checks.get(check.type)
        if runner is None:
            return None, Outcome(StepStatus.FAILED, error=f"no {check.type} check runner is "
                                  "wired; the composition root must pass one in Runners.checks")
        try:
            async with asyncio.timeout(step.timeout_s):
                result = await runner.check(check, ctx)
        except TimeoutError:
            return None, Outcome(StepStatus.TIMED_OUT, error=f"{check.target()}: no answer "
                                  f"within {step.timeout_s:g} s")
        except Exception as exc:  # a runner's failure is the step's failure, never the run's crash
            log.warning("check %s of run %s failed: %r", step.id, ctx.run_id, exc)
            return None, Outcome(StepStatus.FAILED, error=f"{check.target()}: {exc!r}")
        held, line = step.expect.resolve(inputs).evaluate(result.value)
        line = f"{line}{' (' + result.detail + ')' if result.detail else ''}"
        return held, (Outcome(StepStatus.SUCCEEDED, line) if held
                      else Outcome(StepStatus.FAILED, error=line))

    async def _call(self, step: ActionStep | RollbackStep, inputs: Mapping[str, Scalar],
                    ctx: CallContext, attempt: int) -> Outcome:
        args = substitute_args(step.args, inputs)
        text = call_text(step.action, args)
        actuator = self._runners.actuators.get(step.action)
        if actuator is None:
            return Outcome(StepStatus.FAILED, error=f"no actuator wired for {step.action}; the "
                           "composition root must pass one in Runners.actuators")
        try:
            async with asyncio.timeout(step.timeout_s):
                out = await actuator.call(args, CallContext(ctx.run_id, ctx.runbook, ctx.step_id,
                                                            ctx.region, attempt))
        except TimeoutError:
            return Outcome(StepStatus.TIMED_OUT, error=f"{text}: no answer within "
                           f"{step.timeout_s:g} s (it may or may not have happened)")
        except Exception as exc:  # the actuator raised: it did not happen
            log.warning("%s (run %s, attempt %d) failed: %r", text, ctx.run_id, attempt, exc)
            return Outcome(StepStatus.FAILED, error=f"{text}: {exc!r}")
        return Outcome(StepStatus.SUCCEEDED, f"{text}: {out}")


def resume_rule(step: object, catalogue: Catalogue = ACTUATORS) -> tuple[bool, str]:
    """Whether a step found ``running`` after a crash may run again, and why. Pure.

    Checks only read; gates only ask. An action is repeated only when doing it twice equals
    doing it once: its actuator sets a state, or its ``skip_if`` check (asked first) tells
    whether the interrupted attempt already did it. Otherwise it fails, and a person decides.
    """
    if isinstance(step, CheckStep | VerifyStep):
        return True, "a check only reads; reading again is safe"
    if not isinstance(step, ActionStep | RollbackStep):
        return True, "a gate only asks; asking again is safe"
    spec = catalogue.get(step.action)
    if spec is not None and spec.idempotent:
        return True, f"{step.action} sets a state; repeating it is safe"
    if isinstance(step, ActionStep) and step.skip_if:
        return True, f"check {step.skip_if!r} is asked first and tells whether it is done"
    return False, (f"interrupted; not repeated because {step.action} is not idempotent and the "
                   "step has no skip_if check to tell whether it happened; check by hand, then "
                   "start a new run")
