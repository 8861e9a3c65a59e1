"""Error-budget math: pure, total (never NaN or infinite), table-tested.

Occurrences: the budget is ``(1 - objective) * total_events``; consumed is ``bad / budget``.
Timeslices: the same over slices (a slice is bad when its good ratio is under the threshold).
No traffic means nothing consumed, never a division by zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slo.burn import burn_rate


def error_budget(objective_ratio: float) -> float:
    """The allowed error ratio: 1 - objective (0.9995 -> 0.0005)."""
    return max(0.0, 1.0 - objective_ratio)


def safe_ratio(num: float, den: float) -> float:
    """num/den, 0 when there is nothing to divide (no traffic) or the inputs are not finite."""
    if den <= 0 or not math.isfinite(num) or not math.isfinite(den):
        return 0.0
    return max(0.0, num / den)


def consumed_fraction(bad: float, total: float, objective_ratio: float) -> float:
    """Share of the error budget spent: 1.0 is all of it; may exceed 1 (overspent)."""
    budget_events = error_budget(objective_ratio) * total
    if bad <= 0 or total <= 0:
        return 0.0
    if budget_events <= 0:
        return 1.0  # a 100% objective has no budget: any bad event exhausts it
    return bad / budget_events


def remaining_fraction(bad: float, total: float, objective_ratio: float) -> float:
    """1 - consumed; negative when overspent (like Sloth's period_error_budget_remaining)."""
    return 1.0 - consumed_fraction(bad, total, objective_ratio)


@dataclass(frozen=True)
class WindowBurn:
    window_seconds: int
    error_ratio: float
    burn_rate: float
    total: float


@dataclass(frozen=True)
class BudgetStatus:
    """One SLO's budget at ``at``: what the policy and `covenant slo status` read."""

    slo_id: str
    service: str
    objective: float  # ratio, e.g. 0.9995
    at: float
    period_start: float
    total: float
    bad: float
    sli: float  # good ratio over the period (1.0 with no traffic)
    error_ratio: float
    consumed: float
    remaining: float
    burn_rate: float  # over the period
    burns: tuple[WindowBurn, ...] = ()
    has_data: bool = True
    region: str = ""  # the SLO's `region` label; "" for global SLOs
    # How much of the period the numbers stand on (the policy's minimum-data rule reads them).
    # ``period_s``: the SLO period's length; ``observed_s``: how long within the period there
    # have been observations (the tracker: since its first sample of the SLO, capped at the
    # period). None means the builder did not say: the whole period counts as observed.
    period_s: float | None = None
    observed_s: float | None = None

    @property
    def exhausted(self) -> bool:
        # A hair of tolerance: spending exactly the budget (1 - 0.999 is not exactly 0.001 in
        # floating point) counts as exhausted.
        return self.has_data and self.remaining <= 1e-9

    @property
    def elapsed_share(self) -> float:
        """Share of the period with observations behind this budget, in [0, 1] (1.0 when the
        builder did not give ``period_s`` and ``observed_s``)."""
        if self.period_s is None or self.observed_s is None or self.period_s <= 0:
            return 1.0
        return min(max(self.observed_s / self.period_s, 0.0), 1.0)


def budget_status(slo_id: str, service: str, objective_ratio: float, at: float,
                  period_start: float, bad: float, total: float,
                  burns: tuple[WindowBurn, ...] = (), region: str = "",
                  period_s: float | None = None, observed_s: float | None = None,
                  ) -> BudgetStatus:
    """Assemble a status from the period's bad/total counts (events or slices).

    ``period_s`` and ``observed_s`` (see :class:`BudgetStatus`) feed the policy's
    minimum-data rule; leave them out only when the counts cover the whole period."""
    bad = min(max(bad, 0.0), max(total, 0.0))
    err = safe_ratio(bad, total)
    return BudgetStatus(
        slo_id=slo_id, service=service, objective=objective_ratio, at=at,
        period_start=period_start, total=max(total, 0.0), bad=bad, sli=1.0 - err,
        error_ratio=err, consumed=consumed_fraction(bad, total, objective_ratio),
        remaining=remaining_fraction(bad, total, objective_ratio),
        burn_rate=burn_rate(err, error_budget(objective_ratio)), burns=burns,
        has_data=total > 0, region=region, period_s=period_s,
        observed_s=None if observed_s is None else max(observed_s, 0.0))


def window_burn(window_seconds: int, bad: float, total: float,
                objective_ratio: float) -> WindowBurn:
    err = safe_ratio(min(bad, total), total)
    return WindowBurn(window_seconds, err, burn_rate(err, error_budget(objective_ratio)), total)
