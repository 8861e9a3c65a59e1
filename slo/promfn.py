"""Prometheus 2.x functions, evaluated in Python exactly as the server does.

``rate()`` with its extrapolation and zero clamp, ``avg_over_time``'s incremental mean, and
the timeslice records -- what the simulator needs so promtool agrees to the minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from slo.burn import rule_windows
from slo.model import SLO
from slo.rules import fmt

STEP = 60  # promtool `interval:` and evaluation interval, seconds

Ratio = float | None  # None: absent or NaN -- every comparison with it is false


def prom_rate(vals: tuple[float, ...], t: int, w: int) -> Ratio:
    """Prometheus 2.x ``rate(x[w])`` at ``t`` for samples at i*STEP (extrapolatedRate)."""
    lo, hi = max(0, math.ceil((t - w) / STEP)), min(len(vals) - 1, t // STEP)
    if hi - lo < 1:
        return None
    first, last = vals[lo], vals[hi]
    result = last - first
    d_start, d_end = float(lo * STEP - (t - w)), float(t - hi * STEP)
    sampled = float((hi - lo) * STEP)
    avg = sampled / (hi - lo)
    if result > 0 and first >= 0:
        d_start = min(d_start, sampled * (first / result))
    thr = avg * 1.1
    ext = sampled + (d_start if d_start < thr else avg / 2) + (d_end if d_end < thr else avg / 2)
    return result * (ext / sampled) / w


def prom_avg_over_time(vals: tuple[float, ...], t: int, w: int,
                       run_start: tuple[int, ...] | None = None) -> Ratio:
    """Prometheus 2.42's incremental mean; ``run_start[i]`` (where the run of equal values
    holding i begins) lets a constant window skip the loop: its mean is exactly that value."""
    lo, hi = max(0, math.ceil((t - w) / STEP)), min(len(vals) - 1, t // STEP)
    if hi < lo:
        return None
    if run_start is not None and run_start[hi] <= lo:
        return vals[hi]
    mean, count = 0.0, 0.0
    for v in vals[lo:hi + 1]:
        count += 1
        mean += v / count - mean / count
    return mean


def ratio_div(a: Ratio, b: Ratio) -> Ratio:
    if a is None or b is None or b == 0:
        return None  # x/0 is NaN or inf in PromQL; for a ratio of rates it only happens at 0/0
    return a / b


class SliceSeries:
    """Timeslice budgeting: the bad-slice record, then avg_over_time of it per window."""

    def __init__(self, slo: SLO, ratio: Callable[[int, int], Ratio]) -> None:
        assert slo.timeslice is not None
        self.length, self.ratio = slo.timeslice.length_seconds, ratio
        self.threshold = float(fmt(1 - slo.timeslice.good_threshold))
        self.windows = rule_windows(slo.period)[:-1]
        self.bad: list[float | None] = []
        self.run_start: list[int] = []
        self.period: Ratio = None
        self._mean, self._count = 0.0, 0.0

    def step(self, t: int) -> dict[int, Ratio]:
        r = self.ratio(t, self.length)
        # `x > bool thr`: absent stays absent; NaN (no traffic) compares false -> 0.
        v = None if r is None else (1.0 if r > self.threshold else 0.0)
        i = len(self.bad)
        same = i > 0 and self.bad[i - 1] == v
        self.run_start.append(self.run_start[i - 1] if same else i)
        self.bad.append(v)
        if v is not None:
            self._count += 1
            self._mean += v / self._count - self._mean / self._count
            self.period = self._mean
        return {w: self._avg(t, w) for w in self.windows}

    def _avg(self, t: int, w: int) -> Ratio:
        lo, hi = max(0, math.ceil((t - w) / STEP)), t // STEP
        if self.run_start[hi] <= lo and self.bad[hi] is not None:
            return self.bad[hi]
        mean, count = 0.0, 0.0
        for v in self.bad[lo:hi + 1]:
            if v is not None:
                count += 1
                mean += v / count - mean / count
        return mean if count else None
