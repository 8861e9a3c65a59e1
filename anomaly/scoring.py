"""Streaming anomaly score of one series (pure, amortised O(1) per point).

Two sources are standardised against robust statistics (median, MAD) of their own trailing
``history``: the forecast residual (value - cached Prophet forecast) and the raw value itself.
A *channel* is the absolute mean of the last ``w`` standardised points of a source; the value
source is watched at several scales (one point, a short and a long run) so a spike, a shift and
a slow drift each show in some channel. Each channel is compared with its own maximum over the
trailing history: a ratio >= 1 means "more extreme than anything in the recent past". The score
is the largest ratio, scaled into [0, 1]. After an alarm (ratio >= ``alarm_ratio``) the next
``quiet_points`` are damped: one anomaly should raise one alarm, not a burst. While damped, a
point still outside the band (|standardised residual| >= ``band_z``) scores ``quiet_factor`` —
below the alarm level, so NAB's threshold is unaffected, but steady, so a consumer can tell a
sustained anomaly (alarm, then quiet_factor, quiet_factor, ...) from a single spike.

Speed: ``ResidualScorer.update`` is the hot path (every point of every series), so it is one
flat method over plain lists, ``array`` rings and local variables — no per-point objects beyond
one tuple per channel. ``anomaly.scoring_reference`` holds the same arithmetic written one
object per piece; a test checks the two agree bit for bit.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_TIE = 1.0 - 1e-6  # what an exact tie with the record scores (just below alarm_ratio = 1)
_isfinite = math.isfinite
_INF = math.inf


@dataclass(frozen=True)
class ScorerConfig:
    """Knobs of the scorer; one configuration serves every series."""

    history: int = 2000  # trailing points behind the robust statistics and record maxima
    min_history: int = 150  # cold start: score 0 until this many points were seen
    min_stats: int = 20  # points before the robust statistics (and channels) mean anything
    refresh_every: int = 25  # points between recomputing the robust statistics
    residual_windows: tuple[int, ...] = (1,)
    value_windows: tuple[int, ...] = (1, 12, 48)
    record_scale: float = 4.0  # score = min(1, ratio / record_scale)
    alarm_ratio: float = 1.0
    quiet_points: int = 100
    quiet_factor: float = 0.2  # score of a damped point still outside the band
    band_z: float = 3.0  # the band's half-width in residual scales


def record_ratio(level: float, past: float) -> float:
    """``level / past``, where equalling the record (to 1e-9, e.g. a flat run) is not a new
    record: only strictly more extreme than the past counts."""
    if level <= 0.0:
        return 0.0
    if past <= 0.0:
        return math.inf
    ratio = level / past
    return min(ratio, _TIE) if abs(ratio - 1.0) <= 1e-9 else ratio


def median(sample: npt.NDArray[np.float64], in_place: bool = False) -> float:
    """``np.median`` of a finite 1-D sample without its generic overhead: the same order
    statistics and, for an even size, the same mean of the middle two. One partition at n//2;
    the order statistic just below it is the largest value left of it."""
    n = sample.size
    half = n // 2
    if in_place:
        sample.partition(half)
        part = sample
    else:
        part = np.partition(sample, half)
    upper = float(part[half])
    if n % 2:
        return upper
    return float((part[:half].max() + upper) / 2)


class Source:
    """One standardised input: its trailing ring (an ``array``, viewed by numpy for the
    statistics), median/MAD, the running sums of the last ``w`` standardised points, and for
    every window the trailing maximum of its channel (the record)."""

    def __init__(self, history: int, windows: tuple[int, ...]) -> None:
        self.history = history
        self.ring = array("d", bytes(8 * history))
        self.view: npt.NDArray[np.float64] = np.frombuffer(self.ring, dtype=np.float64)
        self.location = 0.0
        self.scale = 1.0
        self.windows = windows
        self.span = max(windows, default=1)
        self.recent = [0.0] * self.span  # ring of standardised points
        self.sums = [0.0] * len(windows)
        # Record of each channel: the exact maximum of its last ``history`` levels, kept as
        # (best, index of best) and rescanned from the ring only when the best falls out.
        self.levels = [array("d", bytes(8 * history)) for _ in windows]
        self.best = [0.0] * len(windows)
        self.best_at = [-1] * len(windows)

    def nbytes(self) -> int:
        """Bytes held by the rings."""
        return 8 * self.history * (1 + len(self.levels))

    def refresh(self, filled: int, floor: float, count: int) -> None:
        """Median/MAD of the first ``filled`` ring slots; ``count`` channels seen so far."""
        sample = self.view[:filled]
        if filled < 2:
            return
        self.location = median(sample)
        spread = 1.4826 * median(np.abs(sample - self.location), in_place=True)
        if spread <= floor:  # mostly-constant input: the std still sees the rare moves
            spread = float(np.std(sample))
        self.scale = max(spread, floor)
        # Recompute the running sums exactly (bounds floating-point drift).
        # The same additions in the same order (newest first) as summing
        # recent[(count - 1 - j) % span] for j < n, read through slices.
        recent, newest = self.recent, (count - 1) % self.span
        order = recent[newest::-1] + recent[:newest:-1]
        for k, w in enumerate(self.windows):
            self.sums[k] = sum(order[: min(w, count)])

    def channels(
        self, x: float, n: int, levels: list[float], pasts: list[float], first: int
    ) -> float:
        """Write |mean of the last w standardised points| (point n) and the record before it
        for every window w into ``levels``/``pasts`` from index ``first``, push the level into
        the record; return the largest record ratio (``record_ratio``, inlined)."""
        z = (x - self.location) / self.scale
        sums, recent, span = self.sums, self.recent, self.span
        best, best_at, rings, history = self.best, self.best_at, self.levels, self.history
        slot = n % history
        ratio = 0.0
        for k, w in enumerate(self.windows):
            total = sums[k] + z
            if n >= w:  # drop the point leaving this window (read before it is overwritten)
                total -= recent[(n - w) % span]
            sums[k] = total
            level = abs(total) / (w if w < n + 1 else n + 1)
            levels[first + k] = level
            past = best[k]
            pasts[first + k] = past
            if level > 0.0:
                r = _INF if past <= 0.0 else level / past
                if abs(r - 1.0) <= 1e-9 and r > _TIE:
                    r = _TIE
                if r > ratio:
                    ratio = r
            rings[k][slot] = level
            if level >= past:
                best[k] = level
                best_at[k] = n
            elif n - best_at[k] >= history:  # the record just left the window
                self._rescan(k, n)
        recent[n % span] = z
        return ratio

    def _rescan(self, k: int, n: int) -> None:
        """Find channel k's maximum over its ring (the last ``history`` levels up to n)."""
        window = np.frombuffer(self.levels[k], dtype=np.float64)[: min(n + 1, self.history)]
        j = int(window.argmax())
        self.best[k] = float(window[j])
        self.best_at[k] = n - ((n - j) % self.history)


@dataclass
class ResidualScorer:
    """Score state of one series (the fast path; see ``anomaly.scoring_reference``)."""

    config: ScorerConfig = field(default_factory=ScorerConfig)

    def __post_init__(self) -> None:
        c = self.config
        self.residual = Source(c.history, c.residual_windows)
        self.value = Source(c.history, c.value_windows)
        # Reused every point (no per-point allocation, so no garbage-collector pressure).
        self.levels = [0.0] * (len(c.residual_windows) + len(c.value_windows))
        self.pasts = [0.0] * len(self.levels)
        self.seen = 0
        self.channels_seen = 0  # points that produced channels (index of the next one)
        self.since_alarm = c.quiet_points + 1
        self.alarm_records: list[float] = []  # channel records just before the last alarm
        self.magnitude = 0.0  # running mean |value|: the reference for scale floors

    @property
    def scale(self) -> float:
        """Current residual scale (drives the exported band's half-width)."""
        return self.residual.scale

    @property
    def location(self) -> float:
        """Current residual location (the forecast's recent bias)."""
        return self.residual.location

    def nbytes(self) -> int:
        """Bytes held by the trailing rings."""
        return self.residual.nbytes() + self.value.nbytes()

    def update(self, value: float, expected: float) -> float:
        """Score one point, then learn from it. Non-finite input scores 0 and is not learned."""
        if not (_isfinite(value) and _isfinite(expected)):
            return 0.0
        c = self.config
        history = c.history
        seen = self.seen + 1
        self.seen = seen
        magnitude = self.magnitude
        magnitude += (abs(value) - magnitude) / (seen if seen < history else history)
        self.magnitude = magnitude
        residual, source = self.residual, self.value
        if seen % c.refresh_every == 0 or seen <= c.min_history:
            floor = 1e-9 * (magnitude + 1e-9)
            filled = seen - 1 if seen - 1 < history else history
            residual.refresh(filled, floor, self.channels_seen)
            source.refresh(filled, floor, self.channels_seen)
        slot = (seen - 1) % history
        x = value - expected
        residual.ring[slot] = x  # not read again before the next refresh
        source.ring[slot] = value
        if seen <= c.min_stats:  # no statistics yet: learn only
            return 0.0
        n = self.channels_seen
        self.channels_seen = n + 1
        levels, pasts = self.levels, self.pasts
        ratio = residual.channels(x, n, levels, pasts, 0)
        other = source.channels(value, n, levels, pasts, len(residual.windows))
        if other > ratio:
            ratio = other
        if seen <= c.min_history:
            return 0.0
        since_alarm = self.since_alarm + 1
        self.since_alarm = since_alarm
        if since_alarm > c.quiet_points and ratio < c.alarm_ratio:  # the common case
            return min(1.0, ratio / c.record_scale)
        return self._damp(levels, pasts, ratio)

    def _damp(self, levels: list[float], pasts: list[float], ratio: float) -> float:
        """One alarm per anomaly. While damped, a point scores ``quiet_factor`` if it is still
        beyond the band or beyond the records that stood before the alarm (a persisting
        shift), else 0. ``since_alarm`` already counts this point."""
        c = self.config
        if self.since_alarm <= c.quiet_points:
            if levels and levels[0] >= c.band_z:  # still outside the band
                return c.quiet_factor
            for level, record in zip(levels, self.alarm_records, strict=True):
                if level > record:  # still beyond a record that stood before the alarm
                    return c.quiet_factor
            return 0.0
        if ratio >= c.alarm_ratio:
            self.since_alarm = 0
            self.alarm_records = pasts.copy()  # pasts is overwritten by the next point
        return min(1.0, ratio / c.record_scale)
