"""The readable reference implementation of the streaming scorer (one object per piece).

``anomaly.scoring.ResidualScorer`` is the fast path the detector uses: the same arithmetic, in
the same order, flattened into one method. This module is kept so a test can check, point by
point, that the two give bit-identical scores; see ``anomaly.scoring`` for what a score means.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from anomaly.scoring import ScorerConfig, record_ratio


class Ring:
    """A fixed-size ring of floats (O(1) push)."""

    def __init__(self, size: int) -> None:
        self.data: npt.NDArray[np.float64] = np.zeros(size)
        self.count = 0

    def push(self, x: float) -> None:
        self.data[self.count % len(self.data)] = x
        self.count += 1

    def filled(self) -> npt.NDArray[np.float64]:
        return self.data[: min(self.count, len(self.data))]


class RobustSource:
    """One standardised input: trailing ring, median/MAD refreshed every few points, and a
    running sum of the last ``w`` standardised points for every window ``w``."""

    def __init__(self, history: int, windows: tuple[int, ...]) -> None:
        self.ring = Ring(history)
        self.location = 0.0
        self.scale = 1.0
        self.windows = windows
        self.span = max(windows, default=1)
        self.recent = [0.0] * self.span  # ring of standardised points
        self.sums = [0.0] * len(windows)
        self.count = 0

    def refresh(self, floor: float) -> None:
        sample = self.ring.filled()
        if sample.size < 2:
            return
        self.location = float(np.median(sample))
        spread = 1.4826 * float(np.median(np.abs(sample - self.location)))
        if spread <= floor:  # mostly-constant input: the std still sees the rare moves
            spread = float(np.std(sample))
        self.scale = max(spread, floor)
        self._resum()

    def _resum(self) -> None:
        """Recompute the running sums exactly (bounds floating-point drift)."""
        for k, w in enumerate(self.windows):
            n = min(w, self.count)
            self.sums[k] = sum(self.recent[(self.count - 1 - j) % self.span] for j in range(n))

    def learn(self, x: float) -> None:
        """Remember x without producing channels (before the statistics exist)."""
        self.ring.push(x)

    def channels(self, x: float) -> list[float]:
        """|mean of the last w standardised points| for every window w; then learn x."""
        z = (x - self.location) / self.scale
        n = self.count  # index of this point
        out = []
        for k, w in enumerate(self.windows):
            total = self.sums[k] + z
            if n >= w:  # drop the point leaving this window (read before it is overwritten)
                total -= self.recent[(n - w) % self.span]
            self.sums[k] = total
            out.append(abs(total) / min(w, n + 1))
        self.recent[n % self.span] = z
        self.count = n + 1
        self.ring.push(x)
        return out


class RunningMax:
    """Maximum over the trailing ``size`` pushes (monotonic deque, amortised O(1))."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: deque[tuple[int, float]] = deque()
        self.count = 0

    def value(self) -> float:
        return self.items[0][1] if self.items else 0.0

    def push(self, x: float) -> None:
        while self.items and self.items[-1][1] <= x:
            self.items.pop()
        self.items.append((self.count, x))
        self.count += 1
        if self.items[0][0] <= self.count - 1 - self.size:
            self.items.popleft()


@dataclass
class ReferenceScorer:
    """Score state of one series (reference implementation)."""

    config: ScorerConfig = field(default_factory=ScorerConfig)

    def __post_init__(self) -> None:
        c = self.config
        self.residual = RobustSource(c.history, c.residual_windows)
        self.value = RobustSource(c.history, c.value_windows)
        n = len(c.residual_windows) + len(c.value_windows)
        self.maxima = [RunningMax(c.history) for _ in range(n)]
        self.seen = 0
        self.since_alarm = c.quiet_points + 1
        self.alarm_records: list[float] = []  # channel records just before the last alarm
        self.magnitude = 0.0  # running mean |value|: the reference for scale floors

    @property
    def scale(self) -> float:
        """Current residual scale (drives the exported band's half-width)."""
        return self.residual.scale

    def nbytes(self) -> int:
        """Bytes held by the trailing rings."""
        return int(self.residual.ring.data.nbytes + self.value.ring.data.nbytes)

    @property
    def location(self) -> float:
        """Current residual location (the forecast's recent bias)."""
        return self.residual.location

    def update(self, value: float, expected: float) -> float:
        """Score one point, then learn from it. Non-finite input scores 0 and is not learned."""
        if not (math.isfinite(value) and math.isfinite(expected)):
            return 0.0
        c = self.config
        self.seen += 1
        self.magnitude += (abs(value) - self.magnitude) / min(self.seen, c.history)
        if self.seen % c.refresh_every == 0 or self.seen <= c.min_history:
            floor = 1e-9 * (self.magnitude + 1e-9)
            self.residual.refresh(floor)
            self.value.refresh(floor)
        if self.seen <= c.min_stats:  # no statistics yet: learn only
            self.residual.learn(value - expected)
            self.value.learn(value)
            return 0.0
        levels = self.residual.channels(value - expected) + self.value.channels(value)
        pasts = []
        ratio = 0.0
        for level, record in zip(levels, self.maxima, strict=True):
            past = record.value()
            pasts.append(past)
            r = record_ratio(level, past)
            if r > ratio:
                ratio = r
            record.push(level)
        if self.seen <= c.min_history:
            return 0.0
        return self._damp(levels, pasts, ratio)

    def _damp(self, levels: list[float], pasts: list[float], ratio: float) -> float:
        """One alarm per anomaly. While damped, a point scores ``quiet_factor`` if it is still
        beyond the band or beyond the records that stood before the alarm (a persisting
        shift), else 0."""
        c = self.config
        self.since_alarm += 1
        if self.since_alarm <= c.quiet_points:
            beyond = any(lv > p for lv, p in zip(levels, self.alarm_records, strict=True))
            outside = bool(levels) and levels[0] >= c.band_z
            return c.quiet_factor if beyond or outside else 0.0
        if ratio >= c.alarm_ratio:
            self.since_alarm = 0
            self.alarm_records = pasts
        return min(1.0, ratio / c.record_scale)
