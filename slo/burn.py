"""Multi-window multi-burn-rate alert windows, scaled to the SLO period the way Sloth does.

The SRE Workbook's windows consume a share of the error budget over a long window: page 2% in
1h (short 5m) or 5% in 6h (30m), ticket 10% in 1d (2h) or 10% in 3d (6h). The burn factor is
``budget_percent * period / long_window``: 14.4, 6, 3 and 1 for 30 days, proportionally less
for 28 or 7 days.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from slo.period import Period, parse_duration


class Severity(StrEnum):
    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True)
class BurnWindow:
    """One half of a MWMB alert: both windows must burn faster than ``factor``."""

    severity: Severity
    budget_percent: float
    short_seconds: int
    long_seconds: int
    factor: float


# (severity, % of budget, short window, long window) -- Google SRE Workbook, table 5-8.
WORKBOOK_WINDOWS: tuple[tuple[Severity, float, str, str], ...] = (
    (Severity.PAGE, 2, "5m", "1h"),
    (Severity.PAGE, 5, "30m", "6h"),
    (Severity.TICKET, 10, "2h", "1d"),
    (Severity.TICKET, 10, "6h", "3d"),
)


def burn_factor(period_seconds: int, budget_percent: float, long_seconds: int) -> float:
    """The burn rate that spends ``budget_percent`` of a period's budget in ``long_seconds``."""
    hours_to_consume = budget_percent * (period_seconds / 3600) / 100
    return hours_to_consume / (long_seconds / 3600)


@functools.cache  # a pure function of a frozen Period, asked for on every simulated minute
def alert_windows(period: Period) -> tuple[BurnWindow, ...]:
    """Page quick, page slow, ticket quick, ticket slow for this period."""
    out = []
    for sev, pct, short, long in WORKBOOK_WINDOWS:
        s, lg = parse_duration(short), parse_duration(long)
        out.append(BurnWindow(sev, pct, s, lg, burn_factor(period.seconds, pct, lg)))
    return tuple(out)


@functools.cache
def rule_windows(period: Period) -> tuple[int, ...]:
    """Every window that needs an SLI record: the alert windows, sorted, then the period."""
    ws = sorted({w for b in alert_windows(period) for w in (b.short_seconds, b.long_seconds)})
    return (*ws, period.seconds)


def burn_rate(error_ratio: float, error_budget: float) -> float:
    """How many times faster than sustainable the budget burns; 0 with no budget or no errors."""
    if error_ratio <= 0:
        return 0.0
    if error_budget <= 0:
        return 1e9  # a 100% objective: any error is an unbounded burn; stay finite
    return error_ratio / error_budget


def is_burning(short_ratio: float | None, long_ratio: float | None, window: BurnWindow,
               error_budget: float) -> bool:
    """Both windows over the threshold, as the generated alert expression evaluates it."""
    if short_ratio is None or long_ratio is None:
        return False  # no data: comparisons with NaN/absent are false in PromQL too
    threshold = window.factor * error_budget
    return short_ratio > threshold and long_ratio > threshold
