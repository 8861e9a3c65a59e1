"""What a run's spans say: one ``runbook.run`` span per drive of a run (a run that waits for
a person is driven again once approved: another span in another trace) and one ``step
<id>`` child per step it executes or visits (gates, rollbacks included). Pure: the
executor starts the spans on the tracer the composition root hands it."""

from __future__ import annotations

from opentelemetry.util.types import AttributeValue

from runbooks.journal import RunRecord, StepRecord, StepStatus
from runbooks.model import Step

RUN_SPAN = "runbook.run"
FAILED_STEP = frozenset({StepStatus.FAILED, StepStatus.TIMED_OUT})


def step_span(step: Step) -> str:
    """The step's span name: bounded, since step ids come from the shipped library."""
    return f"step {step.id}"


def run_attributes(run: RunRecord) -> dict[str, AttributeValue]:
    return {"covenant.run_id": run.id, "covenant.runbook": run.runbook,
            "covenant.region": run.region, "covenant.actor": run.actor}


def run_outcome(run: RunRecord) -> dict[str, AttributeValue]:
    """Set when the drive returns: where the run stands (``waiting`` when a gate holds it)."""
    return {"covenant.run_status": str(run.status)}


def step_attributes(step: Step) -> dict[str, AttributeValue]:
    return {"covenant.step": step.id, "covenant.step_kind": step.kind}


def step_outcome(rec: StepRecord) -> dict[str, AttributeValue]:
    return {"covenant.step_status": str(rec.status), "covenant.attempt": rec.attempt}
