"""One control-plane cycle of the budget policy: status -> evaluate -> record.

The thin effectful wrapper around the pure parts, for the reconciler to call once per cycle
after :meth:`BudgetTracker.ingest` of every region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slo.budget import BudgetStatus
from slo.policy import MIN_ELAPSED_SHARE, MIN_EVENTS, Incident, PolicyDecision, evaluate
from slo.store import SloStore
from slo.tracker import BudgetTracker


@dataclass(frozen=True)
class CycleResult:
    budgets: tuple[BudgetStatus, ...]
    decisions: tuple[PolicyDecision, ...]


def budget_cycle(tracker: BudgetTracker, store: SloStore | None,
                 incidents: Sequence[Incident], now: float, *,
                 min_events: float = MIN_EVENTS,
                 min_elapsed_share: float = MIN_ELAPSED_SHARE) -> CycleResult:
    """Budgets at ``now``, the policy's decisions on them, both recorded when a store is given.

    ``min_events`` and ``min_elapsed_share``: the policy's minimum data (``slo.policy``)."""
    budgets = tracker.status(now)
    decisions = evaluate(budgets, incidents, now, min_events=min_events,
                         min_elapsed_share=min_elapsed_share)
    if store is not None:
        store.record_budgets(budgets)
        store.record_decisions(decisions)
    return CycleResult(tuple(budgets), tuple(decisions))
