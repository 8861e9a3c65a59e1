"""The runbook engine's Prometheus metrics, on the control plane's registry: runs started
and ended, steps failed (the executor's :class:`runbooks.ports.RunObserver`) and the
Alertmanager webhook's deliveries (``controlplane.alert_webhook``).

The series a dashboard reads through ``increase()`` or ``rate()`` exist at 0 before their
first event: Prometheus (2.x) sees no increase in a series whose first sample is already 1,
so a run counted in a series born with it would never show as an annotation. Known at
start: every (runbook, region) ``started`` series, every (runbook, step) failure series and
every webhook outcome; a run's end series are made when it starts (it lasts a scrape or
more: a run that starts and ends between two scrapes shows its start only).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from prometheus_client import CollectorRegistry, Counter

from controlplane.alert_webhook import DELIVERY_OUTCOMES
from runbooks.journal import RunRecord, RunStatus, StepRecord
from runbooks.model import Runbook

RUNS = "covenant_runbook_runs_total"
STEP_FAILURES = "covenant_runbook_step_failures_total"
WEBHOOK_DELIVERIES = "covenant_webhook_deliveries_total"
STARTED = "started"  # the runs counter's status when a run starts; its end status after
ENDED = tuple(str(s) for s in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT,
                               RunStatus.CANCELLED))


class RunbookMetrics:
    """Implements ``runbooks.ports.RunObserver``; ``delivered`` is the webhook's hook."""

    def __init__(self, registry: CollectorRegistry, runbooks: Mapping[str, Runbook],
                 regions: Collection[str]) -> None:
        self.runs = Counter(
            RUNS.removesuffix("_total"), "Runbook runs by runbook, region and status: "
            f"{STARTED} when a run starts, then its end status ({', '.join(ENDED)}).",
            ["runbook", "region", "status"], registry=registry)
        self.step_failures = Counter(
            STEP_FAILURES.removesuffix("_total"), "Runbook steps that failed or timed out, "
            "by runbook and step.", ["runbook", "step"], registry=registry)
        self.deliveries = Counter(
            WEBHOOK_DELIVERIES.removesuffix("_total"), "Alertmanager webhook deliveries to "
            "the control plane, by outcome.", ["outcome"], registry=registry)
        for rb in runbooks.values():
            for region in regions:
                self.runs.labels(rb.id, region, STARTED)
            for step in rb.steps:
                self.step_failures.labels(rb.id, step.id)
        for outcome in DELIVERY_OUTCOMES:
            self.deliveries.labels(outcome)

    def run_started(self, run: RunRecord) -> None:
        for status in ENDED:  # at 0 until the run ends (see the module's docstring)
            self.runs.labels(run.runbook, run.region, status)
        self.runs.labels(run.runbook, run.region, STARTED).inc()

    def run_ended(self, run: RunRecord) -> None:
        self.runs.labels(run.runbook, run.region, str(run.status)).inc()

    def step_failed(self, run: RunRecord, step: StepRecord) -> None:
        self.step_failures.labels(run.runbook, step.step_id).inc()

    def delivered(self, outcome: str) -> None:
        self.deliveries.labels(outcome).inc()
