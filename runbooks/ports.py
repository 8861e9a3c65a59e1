"""The Protocols the composition root implements: how a runbook reaches the world.

``runbooks`` imports no sibling package, so every effect arrives through one of these:

- :class:`CheckRunner` per check type (``probe``, ``http``, ``sql``, ``promql``);
  :mod:`runbooks.checks` has HTTP, SQL and PromQL runners and a probe table to fill.
- :class:`Actuator` per catalogue name (``route.drain`` -> the control plane's router, ...).
- :class:`Escalator` for a failed or stuck run (:mod:`runbooks.escalation` has PagerDuty,
  bus and incident escalators and a fan-out).
- :class:`kernel.locks.RegionLock` shared with game days and database failovers.
- :class:`RunObserver` told when a run starts or ends and when a step fails (the control
  plane counts them as Prometheus metrics, ``controlplane.runbook_metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from runbooks.expect import CheckSpec
from runbooks.journal import RunRecord, StepRecord
from runbooks.templating import ArgValue, Scalar

RUN_FAILED_SUBJECT = "covenant.controlplane.runbook.failed"


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling: actuators log it and use it as an idempotency key if they can."""

    run_id: int
    runbook: str
    step_id: str
    region: str
    attempt: int = 1

    @property
    def key(self) -> str:
        return f"runbook-{self.run_id}-{self.step_id}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    value: Scalar | None
    detail: str = ""


class CheckRunner(Protocol):
    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        """Observe (never change) and return the value the expectation is tested against;
        raise on a failure to observe (counts as a failed attempt)."""
        ...


class Actuator(Protocol):
    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        """Do it; return one line of output for the journal; raise when it did not happen."""
        ...


@dataclass(frozen=True, slots=True)
class Runners:
    checks: Mapping[str, CheckRunner] = field(default_factory=dict)
    actuators: Mapping[str, Actuator] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Escalation:
    """A run that failed, timed out or waited too long for a person."""

    run_id: int
    runbook: str
    title: str
    region: str
    severity: str          # the runbook's severity raised one level (P2 -> P1)
    reason: str            # one line: what went wrong
    step_id: str = ""
    at: float = 0.0
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """One key per run, so repeated escalations of one run update one alert."""
        return f"covenant-runbook-{self.run_id}"


class Escalator(Protocol):
    async def escalate(self, escalation: Escalation) -> None:
        """Tell people; raise :class:`runbooks.errors.EscalationError` when it did not reach
        them (the executor records that and retries on its next sweep)."""
        ...


class Publisher(Protocol):
    """The publishing half of ``kernel.bus.EventBus`` (any bus backend fits)."""

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None: ...


class IncidentDesk(Protocol):
    async def raise_severity(self, region: str, severity: str, reason: str) -> None:
        """Raise the region's open incident to ``severity`` (a region without one has
        nothing to raise: the other channels page)."""
        ...


class RunObserver(Protocol):
    """Told what happens to runs, as it happens. Called on the executor's path: must be
    quick and must not raise (a counter, not I/O)."""

    def run_started(self, run: RunRecord) -> None:
        """A run was journaled (once per run)."""
        ...

    def run_ended(self, run: RunRecord) -> None:
        """A run ended (``run.status``: succeeded, failed, timed_out or cancelled); once."""
        ...

    def step_failed(self, run: RunRecord, step: StepRecord) -> None:
        """A step failed or timed out (a check, an action, a verify, a gate nobody answered
        in time, or a rollback that did not undo)."""
        ...


class NoObserver:
    """The :class:`RunObserver` that ignores everything (tests, dry runs, the CLI)."""

    def run_started(self, run: RunRecord) -> None:
        pass

    def run_ended(self, run: RunRecord) -> None:
        pass

    def step_failed(self, run: RunRecord, step: StepRecord) -> None:
        pass
