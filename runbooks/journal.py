"""The journal: every run and step as persisted rows, the source of truth of the executor.

Why a journal and not in-memory state: a run outlives the process that started it (a crash,
a deploy, a leader change), and every run later becomes audit evidence. The executor reads
the journal before each decision and writes it after each change, so a fresh executor over
the same journal continues where the last one stopped. :class:`InMemoryJournal` serves tests
and dry runs; :mod:`runbooks.journal_sql` persists to the state database.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from runbooks.errors import RunNotFound
from runbooks.templating import Scalar

OUTPUT_LIMIT = 4000  # characters of step output kept; a probe dump must not bloat the store


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"          # an approval or manual step waits for a person
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"      # the run's overall deadline passed
    CANCELLED = "cancelled"      # closed while waiting for a person: its alert resolved


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING_APPROVAL = "waiting_approval"
    ROLLED_BACK = "rolled_back"  # a rollback step that ran and undid its action
    TIMED_OUT = "timed_out"


FINAL_STEP = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.FAILED,
                        StepStatus.ROLLED_BACK, StepStatus.TIMED_OUT})


@dataclass(frozen=True, slots=True)
class RunDraft:
    runbook: str
    region: str
    inputs: Mapping[str, Scalar]
    actor: str
    trigger: str
    started_at: float
    deadline_at: float
    steps: Sequence[tuple[str, str]]  # (step id, kind) in runbook order
    incident: str | None = None       # the region's open incident when the run started


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run. ``ended_at`` is set once nothing is left to do (rollbacks included): until
    then the run is active and holds its (runbook, region) slot."""

    id: int
    runbook: str
    region: str
    inputs: Mapping[str, Scalar]
    status: RunStatus
    actor: str
    trigger: str
    started_at: float
    deadline_at: float
    ended_at: float | None = None
    error: str = ""
    escalated_at: float | None = None
    incident: str | None = None        # the incident the run works on (None: none was open)
    resolved_at: float | None = None   # when the alert that started it resolved

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class StepRecord:
    run_id: int
    index: int
    step_id: str
    kind: str
    status: StepStatus = StepStatus.PENDING
    actor: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    output: str = ""
    error: str = ""
    attempt: int = 0


class Journal(Protocol):
    """Persisted runs and steps. Writes are whole records (the executor uses ``replace``)."""

    async def create_run(self, draft: RunDraft) -> RunRecord: ...

    async def run(self, run_id: int) -> RunRecord:
        """The run, or :class:`RunNotFound`."""
        ...

    async def steps(self, run_id: int) -> list[StepRecord]: ...

    async def save_run(self, run: RunRecord) -> None: ...

    async def save_step(self, step: StepRecord) -> None: ...

    async def list_runs(self, *, before: int | None = None, limit: int = 50,
                        runbook: str | None = None, region: str | None = None,
                        active_only: bool = False,
                        status: RunStatus | None = None) -> list[RunRecord]:
        """Newest first; page with ``before=<smallest id of the last page>`` (keyset)."""
        ...

    async def incident_runs(self, incidents: Collection[str]) -> dict[str, list[int]]:
        """The ids of the runs of each incident, oldest first (incidents without runs are
        left out)."""
        ...

    async def link_incident(self, run_id: int, incident: str) -> None:
        """Set the run's incident if it has none (touches nothing else: the run may be
        driven meanwhile)."""
        ...

    async def mark_resolved(self, run_id: int, at: float) -> None:
        """Record when the run's alert resolved, if not yet (touches nothing else)."""
        ...

    async def remember_trigger(self, key: str, run_id: int, at: float) -> bool:
        """Record that ``key`` (an alert's fingerprint+startsAt, a verdict) went to ``run_id``;
        False when the key was already recorded (a repeated notification)."""
        ...

    async def trigger_run(self, key: str) -> int | None: ...

    async def run_of_trigger(self, key: str) -> RunRecord | None:
        """The run ``key`` went to (one read: what a repeated notification costs)."""
        ...

    async def trigger_keys(self, run_id: int) -> list[str]: ...


def clip(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT - 12] + " [truncated]"


@dataclass
class InMemoryJournal:
    """The journal in a dict: tests, dry runs, and a crash is simulated by a fresh executor."""

    runs: dict[int, RunRecord] = field(default_factory=dict)
    step_rows: dict[int, list[StepRecord]] = field(default_factory=dict)
    keys: dict[str, tuple[int, float]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def create_run(self, draft: RunDraft) -> RunRecord:
        run = RunRecord(next(self._ids), draft.runbook, draft.region, dict(draft.inputs),
                        RunStatus.RUNNING, draft.actor, draft.trigger, draft.started_at,
                        draft.deadline_at, incident=draft.incident)
        self.runs[run.id] = run
        self.step_rows[run.id] = [StepRecord(run.id, i, sid, kind)
                                  for i, (sid, kind) in enumerate(draft.steps)]
        return run

    async def run(self, run_id: int) -> RunRecord:
        try:
            return self.runs[run_id]
        except KeyError:
            raise RunNotFound(f"no run #{run_id}; list runs with `covenant runbook status`"
                              ) from None

    async def steps(self, run_id: int) -> list[StepRecord]:
        await self.run(run_id)
        return list(self.step_rows[run_id])

    async def save_run(self, run: RunRecord) -> None:
        before = await self.run(run.id)  # incident and resolved_at are never cleared
        self.runs[run.id] = replace(run, incident=run.incident or before.incident,
                                    resolved_at=run.resolved_at or before.resolved_at)

    async def save_step(self, step: StepRecord) -> None:
        rows = self.step_rows[step.run_id]
        rows[step.index] = replace(step, output=clip(step.output), error=clip(step.error))

    async def list_runs(self, *, before: int | None = None, limit: int = 50,
                        runbook: str | None = None, region: str | None = None,
                        active_only: bool = False,
                        status: RunStatus | None = None) -> list[RunRecord]:
        out = [r for r in sorted(self.runs.values(), key=lambda r: -r.id)
               if (before is None or r.id < before) and runbook in (None, r.runbook)
               and region in (None, r.region) and (not active_only or r.active)
               and status in (None, r.status)]
        return out[:limit]

    async def link_incident(self, run_id: int, incident: str) -> None:
        run = await self.run(run_id)
        if run.incident is None:
            self.runs[run_id] = replace(run, incident=incident)

    async def mark_resolved(self, run_id: int, at: float) -> None:
        run = await self.run(run_id)
        if run.resolved_at is None:
            self.runs[run_id] = replace(run, resolved_at=at)

    async def incident_runs(self, incidents: Collection[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for run in sorted(self.runs.values(), key=lambda r: r.id):
            if run.incident is not None and run.incident in incidents:
                out.setdefault(run.incident, []).append(run.id)
        return out

    async def remember_trigger(self, key: str, run_id: int, at: float) -> bool:
        if key in self.keys:
            return False
        self.keys[key] = (run_id, at)
        return True

    async def trigger_run(self, key: str) -> int | None:
        found = self.keys.get(key)
        return found[0] if found else None

    async def trigger_keys(self, run_id: int) -> list[str]:
        return [k for k, (rid, _) in self.keys.items() if rid == run_id]

    async def run_of_trigger(self, key: str) -> RunRecord | None:
        found = self.keys.get(key)
        return self.runs.get(found[0]) if found else None
