"""Streaming anomaly score of one series from its forecast residuals (pure, O(1) per point).

Each point's residual (value - cached forecast) is standardised against robust statistics of
the residuals seen before it. Two tail probabilities are taken: the point's own surprise, and
the surprise of the mean of the last few standardised residuals against the history of such
means (a level shift shows there before any single point is extreme). The smaller one becomes
a log-scaled score in [0, 1]. After the score crosses ``alarm_level`` the next ``quiet_points``
are damped: one anomaly should raise one alarm, not a burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_FLOOR_P = 1e-12
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class ScorerConfig:
    """Knobs of the residual scorer; one configuration serves every series."""

    history: int = 1000  # residuals behind the robust location/scale
    min_history: int = 20  # score 0 until this many residuals were seen
    reestimate_every: int = 20  # points between recomputing the robust statistics
    short_window: int = 6  # points averaged for the level-shift channel
    alarm_level: float = 0.5
    quiet_points: int = 100
    quiet_factor: float = 0.3
    log_floor: float = 1e-12  # p-value mapped to score 1


def two_sided_p(z: float) -> float:
    """P(|N(0,1)| >= |z|)."""
    return max(math.erfc(abs(z) / _SQRT2), _FLOOR_P)


class Ring:
    """A fixed-size ring of floats with a running sum (O(1) push)."""

    def __init__(self, size: int) -> None:
        self.data: npt.NDArray[np.float64] = np.zeros(size)
        self.count = 0
        self.total = 0.0

    def push(self, x: float) -> None:
        i = self.count % len(self.data)
        if self.count >= len(self.data):
            self.total -= float(self.data[i])
        self.data[i] = x
        self.total += x
        self.count += 1

    def filled(self) -> npt.NDArray[np.float64]:
        return self.data[: min(self.count, len(self.data))]

    def mean(self) -> float:
        n = min(self.count, len(self.data))
        return self.total / n if n else 0.0


@dataclass
class RobustStats:
    """Median and MAD-based scale, refreshed every few points rather than per point."""

    location: float = 0.0
    scale: float = 1.0

    def refresh(self, sample: npt.NDArray[np.float64], floor: float) -> None:
        self.location = float(np.median(sample))
        mad = float(np.median(np.abs(sample - self.location)))
        spread = 1.4826 * mad
        if spread <= floor:  # spiky or near-constant residuals: fall back to the std
            spread = float(np.std(sample))
        self.scale = max(spread, floor)


@dataclass
class ResidualScorer:
    """Score state of one series."""

    config: ScorerConfig = field(default_factory=ScorerConfig)

    def __post_init__(self) -> None:
        c = self.config
        self.residuals = Ring(c.history)
        self.recent_z = Ring(c.short_window)
        self.means = Ring(c.history)
        self.res_stats = RobustStats()
        self.mean_stats = RobustStats()
        self.seen = 0
        self.since_alarm = c.quiet_points
        self.magnitude = 0.0  # running mean |value|, the scale floor's reference

    @property
    def scale(self) -> float:
        """Current residual scale (drives the exported band's half-width)."""
        return self.res_stats.scale

    @property
    def location(self) -> float:
        """Current residual location (the forecast's recent bias)."""
        return self.res_stats.location

    def update(self, value: float, expected: float) -> float:
        """Score one point, then learn from it. Non-finite input scores 0 and is not learned."""
        if not (math.isfinite(value) and math.isfinite(expected)):
            return 0.0
        residual = value - expected
        c = self.config
        self.seen += 1
        self.magnitude += (abs(value) - self.magnitude) / min(self.seen, c.history)
        if self.seen % c.reestimate_every == 1 or self.seen <= c.min_history:
            self._refresh()
        z = (residual - self.res_stats.location) / self.res_stats.scale
        self.recent_z.push(z)
        short = self.recent_z.mean()
        zm = (short - self.mean_stats.location) / self.mean_stats.scale
        self.residuals.push(residual)
        self.means.push(short)
        if self.seen <= c.min_history:
            return 0.0
        p = min(two_sided_p(z), two_sided_p(zm))
        return self._damp(min(1.0, math.log(p) / math.log(c.log_floor)))

    def _refresh(self) -> None:
        floor = 1e-6 * max(self.magnitude, 1e-9)
        if self.residuals.count >= 2:
            self.res_stats.refresh(self.residuals.filled(), floor)
        if self.means.count >= 2:
            self.mean_stats.refresh(self.means.filled(), 1e-6)

    def _damp(self, score: float) -> float:
        c = self.config
        self.since_alarm += 1
        if self.since_alarm <= c.quiet_points:
            return score * c.quiet_factor
        if score >= c.alarm_level:
            self.since_alarm = 0
        return score
