"""Whether a trigger starts a run: admit, attach, hold or refuse, with a one-line reason. Pure.

The rules, in order:

1. an unknown runbook or region is refused;
2. a notification already handled by a finished run (same fingerprint and startsAt) is
   refused as a repeat; one whose run is still active attaches to it;
3. at most one active run per (runbook, region): any further trigger attaches to it;
4. while an incident is active in the region, runbooks other than the incident's own are
   held (the first runbook admitted during an incident becomes its own);
5. one automation acts on a region at a time: a region running another runbook, or locked
   by someone else (a game day, a database failover), holds the trigger;
6. otherwise the run is admitted.

Held triggers are not queued: Alertmanager repeats a firing alert and the reconciler repeats
a verdict every cycle, so a held trigger returns once the region is free.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from kernel.regions import REGION_CODES


class Decision(StrEnum):
    ADMIT = "admit"
    ATTACH = "attach"
    HOLD = "hold"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Request:
    runbook: str
    region: str
    key: str = ""  # alert fingerprint+startsAt, or verdict+region+since; "" for a manual run


@dataclass(frozen=True, slots=True)
class ActiveRun:
    run_id: int
    runbook: str
    region: str
    keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RegionView:
    """What admission needs to know about the region right now."""

    incident: str | None = None           # the active incident's id, None when there is none
    incident_runbook: str | None = None   # the runbook that incident runs, None if none yet
    lock_holder: str | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    decision: Decision
    reason: str
    run_id: int | None = None  # the run attached to


def lock_holder_name(runbook: str) -> str:
    """How a runbook run appears as a region lock holder (the executor takes it so)."""
    return f"runbook:{runbook}"


def admit(request: Request, runbooks: Collection[str], active: Sequence[ActiveRun],
          region: RegionView, handled_by: int | None = None,
          regions: Collection[str] = REGION_CODES) -> Admission:
    rb, where = request.runbook, request.region
    if rb not in runbooks:
        return Admission(Decision.REFUSE, f"unknown runbook {rb!r}")
    if where not in regions:
        return Admission(Decision.REFUSE, f"unknown region {where!r}")
    same = next((r for r in active if r.runbook == rb and r.region == where), None)
    if handled_by is not None and (same is None or same.run_id != handled_by):
        return Admission(Decision.REFUSE, f"repeat of a notification run #{handled_by} "
                         "already handled", handled_by)
    if same is not None:
        why = ("the same trigger again" if request.key and request.key in same.keys
               else "another trigger")
        return Admission(Decision.ATTACH, f"{why}: run #{same.run_id} of {rb} is active in "
                         f"{where}", same.run_id)
    if region.incident is not None and region.incident_runbook not in (None, rb):
        return Admission(Decision.HOLD, f"incident {region.incident} is active in {where}; "
                         f"only its runbook {region.incident_runbook} runs there until it "
                         "resolves")
    # Another run first: it names the run (its lock says only the runbook), and a caller
    # need not read the lock when the active runs already hold the trigger.
    other = next((r for r in active if r.region == where), None)
    if other is not None:
        return Admission(Decision.HOLD, f"run #{other.run_id} of {other.runbook} is active in "
                         f"{where}; one automation acts on a region at a time")
    if region.lock_holder not in (None, lock_holder_name(rb)):
        return Admission(Decision.HOLD, f"{where} is locked by {region.lock_holder}")
    return Admission(Decision.ADMIT, f"no active run of {rb} in {where} and the region is free")
