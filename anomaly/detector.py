"""The streaming detector: per-(region, metric) Prophet bands, O(1) scoring, refit hooks.

``observe`` never calls Prophet: it looks the expected value up in the cached band (or uses the
last value before the first fit), scores the residual and records the point. Refits happen when
the owner calls ``refit_due`` (a background task, or inline in the NAB harness) — a series is
due after ``refit_every_points`` new points, after ``refit_interval_s`` on the injected clock,
or when its cached horizon no longer covers the newest point.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from anomaly import persistence
from anomaly.errors import AnomalyError
from anomaly.forecast import ForecastConfig, fit
from anomaly.scoring import ScorerConfig
from anomaly.series import SeriesKey, SeriesState
from kernel.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)
_isfinite = math.isfinite


@dataclass(frozen=True)
class DetectorConfig:
    """One configuration for every series (the NAB run uses exactly this default)."""

    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    scorer: ScorerConfig = field(default_factory=ScorerConfig)
    history_points: int = 4000  # raw points kept per series for refits
    min_fit_points: int = 150  # cold start: naive forecast until this many points
    refit_every_points: int = 150
    refit_interval_s: float = 3600.0
    band_width: float = 3.0  # exported band = forecast +- band_width * residual scale


def epoch_seconds(ts: datetime) -> float:
    """Seconds since the epoch; naive datetimes are taken as UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


class AnomalyDetector:
    """Streaming anomaly detector for many (region, metric) series."""

    def __init__(
        self,
        config: DetectorConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
        model_dir: Path | None = None,
    ) -> None:
        self.config = config or DetectorConfig()
        self._clock = clock
        self._model_dir = model_dir
        self._series: dict[SeriesKey, SeriesState] = {}
        self._fits_lock = threading.Lock()  # refit_many runs refits on threads
        self.fits = 0

    def _state(self, key: SeriesKey) -> SeriesState:
        state = self._series.get(key)
        if state is None:
            state = SeriesState.new(self.config.history_points, self.config.scorer)
            self._series[key] = state
        return state

    def keys(self) -> list[SeriesKey]:
        """Every series seen so far."""
        return list(self._series)

    def observe(self, region: str, metric: str, ts: datetime, value: float) -> float:
        """Score one point in [0, 1] against the cached band, then remember it. O(1)."""
        return self.observe_epoch(SeriesKey(region, metric), epoch_seconds(ts), value)

    def observe_epoch(self, key: SeriesKey, ts: float, value: float) -> float:
        """``observe`` with the key built and the time already in epoch seconds."""
        state = self._series.get(key)
        if state is None:
            state = self._state(key)
        value = float(value)
        if not (_isfinite(value) and _isfinite(ts)):
            return 0.0  # NaN/inf: nothing to score, nothing to learn
        band = state.band  # SeriesState.expected and BandCache.index, inlined (hot path)
        if band is None:
            expected = state.last_value
        else:
            i = round((ts - band.start) / band.step)
            last = band.last
            expected = band.expected.item(0 if i < 0 else (last if i > last else i))
        score = state.scorer.update(value, expected) if _isfinite(expected) else 0.0
        state.history.append(ts, value)
        state.points_since_fit += 1
        state.last_value = value
        state.last_score = score
        return score

    def stream(self, key: SeriesKey, epochs: Sequence[float], values: Sequence[float],
               before: Callable[[float], None] | None = None) -> list[float]:
        """Score each point, learn it, refit when due: what a live series goes through, over
        a recorded one (the NAB run, plots). ``before(t)`` runs ahead of each point."""
        scores = []
        for t, v in zip(epochs, values, strict=True):
            if before is not None:
                before(t)
            scores.append(self.observe_epoch(key, t, v))
            if self.is_due(key):
                self.refit(key)
        return scores

    def backfill(self, key: SeriesKey, ts: Sequence[float], values: Sequence[float]) -> int:
        """Load history (e.g. from Prometheus after a restart) without scoring it."""
        state = self._state(key)
        kept = 0
        for t, v in zip(ts, values, strict=True):
            if math.isfinite(v) and math.isfinite(t):
                state.history.append(float(t), float(v))
                state.last_value = float(v)
                kept += 1
        return kept

    def expected(self, region: str, metric: str, ts: datetime) -> float:
        """The cached forecast for ``ts`` (NaN for an unknown series)."""
        state = self._series.get(SeriesKey(region, metric))
        return state.expected(epoch_seconds(ts)) if state else math.nan

    def band(self, region: str, metric: str, ts: datetime) -> tuple[float, float]:
        """(lower, upper) of the dynamic threshold at ``ts``; (nan, nan) if nothing is known."""
        state = self._series.get(SeriesKey(region, metric))
        if state is None:
            return (math.nan, math.nan)
        centre = state.expected(epoch_seconds(ts)) + state.scorer.location
        half = self.config.band_width * state.scorer.scale
        return (centre - half, centre + half)

    def last_score(self, region: str, metric: str) -> float:
        """The score of the newest point of a series (0 if unknown)."""
        state = self._series.get(SeriesKey(region, metric))
        return state.last_score if state else 0.0

    def is_due(self, key: SeriesKey) -> bool:
        """Whether a series should be refitted now (pure check of counters and the clock)."""
        state = self._series.get(key)
        c = self.config
        if state is None or len(state.history) < c.min_fit_points:
            return False
        if state.band is None:  # never fitted: try now, and after a failure once per batch
            return state.fit_failures == 0 or state.points_since_fit >= c.refit_every_points
        newest = float(state.history.ts[(state.history.count - 1) % len(state.history.ts)])
        return (
            state.points_since_fit >= c.refit_every_points
            or self._clock.now() - state.last_fit_clock >= c.refit_interval_s
            or not state.band.covers(newest + state.band.step)
        )

    def due(self) -> list[SeriesKey]:
        """Series whose refit is due."""
        return [k for k in self._series if self.is_due(k)]

    def refit(self, key: SeriesKey) -> None:
        """Fit Prophet on the series' trailing window and swap in the new cached band."""
        state = self._series.get(key)
        if state is None:
            raise AnomalyError(f"no series {key.region}/{key.metric}; observe points first")
        ts, values = state.history.arrays()
        try:
            model, band = fit(ts, values, self.config.forecast)
        except AnomalyError as exc:
            state.fit_failures += 1
            state.points_since_fit = 0  # retry after the next batch, not on every point
            log.warning("refit of %s/%s failed (%s); keeping the old band",
                        key.region, key.metric, exc)
            return
        state.band = band
        state.model_json = persistence.model_json(model)
        state.points_since_fit = 0
        state.last_fit_clock = self._clock.now()
        with self._fits_lock:
            self.fits += 1
        if self._model_dir is not None:
            persistence.save_series(self._model_dir, key, state)

    def refit_many(self, keys: Iterable[SeriesKey], workers: int = 2) -> int:
        """Refit several series; Stan runs out of process, so threads overlap the fits."""
        todo = list(keys)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(self.refit, todo))
        return len(todo)

    def refit_due(self, workers: int = 1) -> int:
        """The background hook: refit every due series; returns how many were refitted."""
        return self.refit_many(self.due(), workers) if workers > 1 else self._refit_serial()

    def _refit_serial(self) -> int:
        todo = self.due()
        for key in todo:
            self.refit(key)
        return len(todo)

    def save(self, directory: Path) -> int:
        """Persist every fitted series (Prophet JSON + cached band); returns how many."""
        fitted = [(k, s) for k, s in self._series.items() if s.band is not None]
        for key, state in fitted:
            persistence.save_series(directory, key, state)
        return len(fitted)

    def load(self, directory: Path) -> int:
        """Restore persisted series so a restart scores at once without refitting."""
        restored = 0
        for key, band, model_json in persistence.load_all(directory):
            state = self._state(key)
            state.band, state.model_json = band, model_json
            state.last_fit_clock = self._clock.now()
            restored += 1
        return restored

    def resident_bytes(self) -> int:
        """Approximate bytes held in arrays, bands and model JSON across all series."""
        return sum(s.nbytes() for s in self._series.values())


def sustained(scores: Sequence[float], threshold: float, min_points: int) -> bool:
    """True when the newest ``min_points`` scores are all at or above ``threshold``."""
    if min_points <= 0:
        raise AnomalyError(f"min_points must be >= 1, got {min_points}")
    tail = list(scores)[-min_points:]
    return len(tail) == min_points and all(s >= threshold for s in tail)
