"""Control-plane incidents as the policy's :class:`~slo.policy.Incident`s (pure).

The policy needs, per incident, the share of each SLO's budget the incident consumed (a
postmortem is required above 20%). It is read off the recorded budget snapshots of the
incident's service: the share consumed at the incident's end (its resolution; the newest
snapshot while it is open) minus the share consumed at its start (the last snapshot at or
before it opened). Both ends are lower bounds when the history is short:

- no snapshot at or before the start (the history begins mid-incident): the first one
  recorded during the incident stands in for the start, so earlier spending is not counted;
- the budget recovering during the incident (traffic grew, bad events rolled out of a
  rolling window) counts as nothing consumed, never as a negative share;
- a period that restarts during the incident (a calendar month begins) splits it: the
  larger of the shares consumed of the old period's budget and of the new one's counts.

An SLO without a snapshot up to the incident's end is left out (nothing is known of it).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from slo.budget import BudgetStatus
from slo.errors import SloError
from slo.policy import Incident

PRIORITIES = ("P0", "P1", "P2", "P3", "P4")


class IncidentError(SloError, ValueError):
    """An incident window cannot be turned into a policy incident; the message says why."""


@dataclass(frozen=True)
class IncidentWindow:
    """An incident as the control plane knows it: who, how urgent, and when.

    ``region``: "" counts against every SLO of ``service``; a region counts against that
    region's SLOs and the global ones (whose traffic includes the region's), not the other
    regions'."""

    id: str
    service: str
    priority: str  # P0..P4 (any case)
    security: bool
    opened_at: float
    resolved_at: float | None = None  # None: still open
    region: str = ""

    def __post_init__(self) -> None:
        if self.priority.upper() not in PRIORITIES:
            raise IncidentError(f"incident {self.id!r}: priority {self.priority!r} is not one "
                                f"of {', '.join(PRIORITIES)}; map its severity to a priority")
        if not math.isfinite(self.opened_at):
            raise IncidentError(f"incident {self.id!r}: opened_at {self.opened_at!r} is not a "
                                "time; pass unix seconds")
        if self.resolved_at is not None and not self.resolved_at >= self.opened_at:
            raise IncidentError(f"incident {self.id!r}: resolved_at {self.resolved_at!r} is "
                                f"not at or after opened_at {self.opened_at!r}; pass "
                                "resolved_at=None for an open incident")


def incidents_for_policy(incidents: Sequence[IncidentWindow],
                         history: Sequence[BudgetStatus]) -> list[Incident]:
    """One :class:`~slo.policy.Incident` per window, in order, with ``budget_consumed`` per
    SLO of its service computed from ``history`` (budget snapshots of any SLOs, any order)."""
    by_slo = _by_slo(history)
    return [_incident(inc, by_slo) for inc in incidents]


def consumed_during(snapshots: Sequence[BudgetStatus], start: float,
                    end: float | None) -> float | None:
    """Share of one SLO's budget consumed in [start, end] (``end`` None: up to the newest
    snapshot), from its snapshots sorted by time; None when none is at or before ``end``."""
    times = [s.at for s in snapshots]
    hi = len(snapshots) if end is None else bisect.bisect_right(times, end)
    if hi == 0:
        return None
    lo = max(bisect.bisect_right(times, start) - 1, 0)
    first, last = snapshots[lo], snapshots[hi - 1]
    if first.at >= last.period_start:
        return max(last.consumed - first.consumed, 0.0)
    old = [s for s in snapshots[lo:hi] if s.at < last.period_start][-1]
    return max(old.consumed - first.consumed, last.consumed, 0.0)


def _by_slo(history: Sequence[BudgetStatus]) -> dict[str, list[BudgetStatus]]:
    out: dict[str, list[BudgetStatus]] = {}
    for snap in sorted(history, key=lambda s: s.at):
        out.setdefault(snap.slo_id, []).append(snap)
    return out


def _in_scope(inc: IncidentWindow, snap: BudgetStatus) -> bool:
    return snap.service == inc.service and (
        not inc.region or snap.region in ("", inc.region))


def _incident(inc: IncidentWindow, by_slo: Mapping[str, Sequence[BudgetStatus]]) -> Incident:
    consumed: dict[str, float] = {}
    for slo_id, snaps in sorted(by_slo.items()):
        if not _in_scope(inc, snaps[-1]):
            continue
        share = consumed_during(snaps, inc.opened_at, inc.resolved_at)
        if share is not None:
            consumed[slo_id] = share
    return Incident(inc.id, inc.service, inc.priority.upper(), inc.security,
                    open=inc.resolved_at is None, budget_consumed=MappingProxyType(consumed))
