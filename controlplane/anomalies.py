"""The anomaly watch: each region's latency, error ratio and traffic go through the anomaly
detector every cycle; sustained anomalies become a signal for ``decide()``, the bands and
scores become Prometheus gauges, and the recent series can be drawn for an incident.

Scoring is O(1) per point against the detector's cached band; Prophet fits run only in
``AnomalyRefitter`` (a worker thread on a schedule), never inside a reconcile pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from anomaly.detector import sustained
from anomaly.series import SeriesKey
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.signals import Signals
from kernel.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from anomaly.detector import AnomalyDetector
    from anomaly.metrics import AnomalyMetrics

log = logging.getLogger(__name__)

# metric label -> what the reason says
METRICS: dict[str, str] = {"latency_ms": "probe latency", "latency_p99_ms": "request p99",
                           "error_ratio": "5xx ratio", "traffic_rps": "request rate"}
# The least distance outside its band that matters operationally, per metric: the bands of
# a quiet, mostly-flat series (a 5xx ratio of 0 with the odd single error) are narrower
# than anything worth an incident.
MARGINS: dict[str, float] = {"latency_ms": 5.0, "latency_p99_ms": 10.0, "error_ratio": 0.02,
                             "traffic_rps": 1.0}
PLOT_POINTS = 240  # cycles of history kept per series for an incident's plot
REPLAY_CYCLES = 2000  # recorded cycles replayed at start: one refit window of history


@dataclass(frozen=True, slots=True)
class Point:
    at: float
    value: float
    lower: float
    upper: float
    score: float

    def outside(self, margin: float) -> bool:
        """Whether the value left its band by more than ``margin`` (False while the band
        is unknown)."""
        return self.value < self.lower - margin or self.value > self.upper + margin


def metric_values(obs: RegionObservation) -> dict[str, float]:
    """The four series of one observation; a metric without data this cycle is left out
    (an unreachable region has no latency, a cycle without a scrape no rate, a cycle
    without user requests no p99)."""
    values: dict[str, float] = {}
    if obs.latency_s is not None and obs.status is not ProbeStatus.UNREACHABLE:
        values["latency_ms"] = obs.latency_s * 1000
    if obs.scraped and obs.requests > 0:
        values["error_ratio"] = obs.error_ratio
    if obs.request_rate is not None:
        values["traffic_rps"] = obs.request_rate
    if obs.latency_p99_s is not None:
        values["latency_p99_ms"] = obs.latency_p99_s * 1000
    return values


class AnomalySignals:
    """Feeds every region's metrics to the detector each cycle; a (region, metric)
    whose newest ``min_points`` scores are all at or above ``threshold`` makes the region
    anomalous.

    After an alarm the detector damps later scores by its quiet factor (NAB convention), so
    a continuing anomaly scores about ``quiet_factor``; the default threshold sits just
    below that, so a shift that persists counts as sustained.
    """

    def __init__(self, detector: AnomalyDetector, threshold: float | None = None,
                 min_points: int = 3, metrics: AnomalyMetrics | None = None,
                 margins: Mapping[str, float] | None = None) -> None:
        self.detector = detector
        self.threshold = threshold if threshold is not None else \
            0.8 * detector.config.scorer.quiet_factor
        self._min_points = min_points
        self._metrics = metrics
        self._margins = dict(MARGINS if margins is None else margins)
        self._recent: dict[tuple[str, str], deque[Point]] = {}
        self._sustained: dict[str, tuple[str, ...]] = {}  # region -> anomalous metrics

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        anomalies: dict[str, str] = {}
        self._sustained = {}
        for region, obs in observations.items():
            flagged = []
            for metric, value in metric_values(obs).items():
                recent = self._score(region, metric, now, value)
                # A point counts only when it is also clearly outside the band it was
                # judged against: a young or mostly-flat series breaks score records
                # by amounts nobody would page for.
                margin = self._margins.get(metric, 0.0)
                scores = [p.score if p.outside(margin) else 0.0
                          for p in list(recent)[-self._min_points:]]
                if sustained(scores, self.threshold, self._min_points):
                    flagged.append(metric)
            if flagged:
                self._sustained[region] = tuple(flagged)
                what = ", ".join(f"{METRICS[m]} (score {self._recent[region, m][-1].score:.2f})"
                                 for m in flagged)
                anomalies[region] = (f"{what} anomalous for {self._min_points} cycles "
                                     f"(>= {self.threshold:g})")
        return Signals(anomalies=anomalies)

    def replay(self, history: Iterable[RegionObservation]) -> int:
        """Feed recorded cycles (oldest first) through the detector after a restart, so its
        scorers, refit history and plot series start warm instead of from nothing. Nothing
        is flagged: a replayed anomaly is history, not a signal. Returns points replayed."""
        points = 0
        for obs in history:
            for metric, value in metric_values(obs).items():
                self._score(obs.region, metric, obs.at, value, record=False)
                points += 1
        if self._metrics is not None:  # the gauges show each series' newest point, once
            for (region, metric), recent in self._recent.items():
                newest = recent[-1]
                self._metrics.record(region, metric, newest.lower, newest.upper, newest.score)
        return points

    def _score(self, region: str, metric: str, now: float, value: float,
               record: bool = True) -> deque[Point]:
        # The band the point is judged against, read before the point is learned.
        lower, upper = self.detector.band(region, metric, datetime.fromtimestamp(now, UTC))
        score = self.detector.observe_epoch(SeriesKey(region, metric), now, value)
        if record and self._metrics is not None:
            self._metrics.record(region, metric, lower, upper, score)
        recent = self._recent.setdefault((region, metric), deque(maxlen=PLOT_POINTS))
        recent.append(Point(now, value, lower, upper, score))
        return recent

    def sustained_metrics(self, region: str) -> tuple[str, ...]:
        """The metrics of ``region`` anomalous as of the last cycle."""
        return self._sustained.get(region, ())

    def series(self, region: str, metric: str) -> tuple[Point, ...]:
        """A copy of the recent points (safe to hand to a worker thread)."""
        return tuple(self._recent.get((region, metric), ()))

    def plot_job(self, region: str) -> Callable[[], bytes] | None:
        """A closure rendering the region's anomalous series to PNG, to run off the loop;
        None when the region has no sustained anomaly now."""
        metrics = self.sustained_metrics(region)
        if not metrics:
            return None
        metric = metrics[0]
        points = self.series(region, metric)
        title = f"{region} {METRICS[metric]} ({metric}): sustained anomaly"
        threshold = self.threshold
        return lambda: render_series(points, threshold, title)


def render_series(points: tuple[Point, ...], threshold: float, title: str) -> bytes:
    """PNG of the points, the band each was judged against and the flagged ones."""
    from anomaly.plot import render_png

    def finite(x: float, fallback: float) -> float:
        return x if math.isfinite(x) else fallback

    stamps = [datetime.fromtimestamp(p.at, UTC) for p in points]
    values = [p.value for p in points]
    return render_png(stamps, values, [finite(p.lower, p.value) for p in points],
                      [finite(p.upper, p.value) for p in points],
                      [p.score for p in points], threshold, title)


class AnomalyRefitter:
    """Refits due series in a worker thread every ``interval_s`` (on ``clock``), so Prophet
    never runs inside a reconcile pass; the detector persists each new model itself when it
    was built with ``model_dir``."""

    def __init__(self, detector: AnomalyDetector, interval_s: float = 30.0,
                 clock: Clock = SYSTEM_CLOCK, workers: int = 1,
                 poll_s: float = 1.0) -> None:
        self._detector = detector
        self._interval_s = interval_s
        self._clock = clock
        self._workers = workers
        self._poll_s = poll_s
        self._next_at = -math.inf
        self.refits = 0

    async def tick(self) -> int:
        """Refit what is due if the schedule says so; returns how many series were refitted."""
        now = self._clock.now()
        if now < self._next_at:
            return 0
        self._next_at = now + self._interval_s
        try:
            done = await asyncio.to_thread(self._detector.refit_due, self._workers)
        except Exception:  # a failed fit must not stop the schedule
            log.exception("anomaly refit failed; retrying at the next interval")
            return 0
        self.refits += done
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._poll_s)


@dataclass
class AnomalyWatch:
    """What ``covenant up`` runs: the signal source and its background refitter."""

    source: AnomalySignals
    refitter: AnomalyRefitter
    restored: int  # series whose fitted model came back from disk


def build_anomaly_watch(registry: CollectorRegistry, model_dir: Path,
                        clock: Clock = SYSTEM_CLOCK,
                        refit_interval_s: float = 30.0) -> AnomalyWatch:
    """Detector with models persisted under ``model_dir`` (loaded now, if any), its gauges
    on ``registry``, and a refitter on ``clock``."""
    from anomaly.detector import AnomalyDetector
    from anomaly.metrics import AnomalyMetrics

    model_dir.mkdir(parents=True, exist_ok=True)
    detector = AnomalyDetector(clock=clock, model_dir=model_dir)
    restored = detector.load(model_dir)
    if restored:
        log.info("anomaly: %d fitted series restored from %s", restored, model_dir)
    source = AnomalySignals(detector, metrics=AnomalyMetrics.register(registry))
    return AnomalyWatch(source, AnomalyRefitter(detector, refit_interval_s, clock), restored)
