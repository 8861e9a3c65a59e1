"""Dry run: every step with the actuator or query it would call and the substituted values.

Pure: nothing is called. The executor substitutes with the same functions, so what a dry run
shows is exactly what a real run sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runbooks.expect import CheckSpec
from runbooks.model import (
    ActionStep,
    ApprovalStep,
    CheckStep,
    ManualStep,
    RollbackStep,
    Runbook,
    Step,
    VerifyStep,
)
from runbooks.templating import ArgValue, Scalar, substitute, substitute_text


@dataclass(frozen=True, slots=True)
class PlannedStep:
    index: int
    id: str
    kind: str
    title: str
    call: str   # what would be called, substituted: ``route.drain(region='syd')``, a query
    note: str   # when and how: retries, deadlines, skip_if, who approves


def substitute_args(args: Mapping[str, ArgValue], inputs: Mapping[str, Scalar]
                    ) -> dict[str, ArgValue]:
    return {k: substitute(v, inputs) for k, v in args.items()}


def substitute_check(check: CheckSpec, inputs: Mapping[str, Scalar]) -> CheckSpec:
    return check.model_copy(update={
        "args": substitute_args(check.args, inputs),
        "url": substitute_text(check.url, inputs),
        "database": substitute_text(check.database, inputs),
        "query": substitute_text(check.query, inputs)})


def call_text(action: str, args: Mapping[str, ArgValue]) -> str:
    return f"{action}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def plan(runbook: Runbook, inputs: Mapping[str, Scalar]) -> list[PlannedStep]:
    """The steps in order as they would run with ``inputs`` (resolve them first)."""
    return [PlannedStep(i, s.id, s.kind, s.title or s.id, _call(s, inputs), _note(s))
            for i, s in enumerate(runbook.steps)]


def _call(step: Step, inputs: Mapping[str, Scalar]) -> str:
    if isinstance(step, CheckStep | VerifyStep):
        check = substitute_check(step.check, inputs)
        try:
            expect = step.expect.resolve(inputs)
        except KeyError:  # an input not given: show the reference as written
            expect = step.expect
        return f"{check.target()}; expect {expect.describe()}"
    if isinstance(step, ActionStep | RollbackStep):
        return call_text(step.action, substitute_args(step.args, inputs))
    if isinstance(step, ManualStep):
        return substitute_text(step.instruction, inputs).strip()
    return substitute_text(step.prompt, inputs).strip()


def _note(step: Step) -> str:
    parts = [f"timeout {step.timeout_s:g} s"]
    if step.retries:
        parts.append(f"{step.retries} retries {step.retry_delay_s:g} s apart")
    if isinstance(step, VerifyStep):
        parts = [f"polls every {step.interval_s:g} s for up to {step.deadline_s:g} s"]
    elif isinstance(step, CheckStep) and step.on_fail == "continue":
        parts.append("the run continues when it does not hold")
    elif isinstance(step, ActionStep) and step.skip_if:
        parts.append(f"skipped when check {step.skip_if!r} holds")
    elif isinstance(step, RollbackStep):
        upto = f" (up to {step.until})" if step.until else ""
        parts = [f"runs only if a later step{upto} fails"] + parts
    elif isinstance(step, ManualStep | ApprovalStep):
        who = ", ".join(step.approvers)
        verb = "confirmed" if isinstance(step, ManualStep) else "approved"
        parts = [f"waits to be {verb} by {who} within {step.deadline_s:g} s"]
    return "; ".join(parts)
