"""One control-plane cycle of the budget policy: status -> evaluate -> record.

The thin effectful wrapper around the pure parts, for the reconciler to call once per cycle
after :meth:`BudgetTracker.ingest` of every region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slo.budget import BudgetStatus
from slo.policy import Incident, PolicyDecision, evaluate
from slo.store import SloStore
from slo.tracker import BudgetTracker


@dataclass(frozen=True)
class CycleResult:
    budgets: tuple[BudgetStatus, ...]
    decisions: tuple[PolicyDecision, ...]


def budget_cycle(tracker: BudgetTracker, store: SloStore | None,
                 incidents: Sequence[Incident], now: float) -> CycleResult:
    """Budgets at ``now``, the policy's decisions on them, both recorded when a store is given."""
    budgets = tracker.status(now)
    decisions = evaluate(budgets, incidents, now)
    if store is not None:
        store.record_budgets(budgets)
        store.record_decisions(decisions)
    return CycleResult(tuple(budgets), tuple(decisions))
