"""Optional inputs to ``decide()`` from the SLO policy and the anomaly detector.

Each source turns what its package computes into plain per-region reasons; ``decide()``
only acts on them when desired state says so (``slo.enforce``, ``anomaly.
treat_sustained_as_bad``), so wiring a source in changes nothing until it is switched on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from controlplane.observation import RegionObservation

if TYPE_CHECKING:
    from anomaly.detector import AnomalyDetector
    from slo.budget import BudgetStatus


@dataclass(frozen=True, slots=True)
class Signals:
    slo_breaches: Mapping[str, str] = field(default_factory=dict)  # region -> reason
    anomalies: Mapping[str, str] = field(default_factory=dict)     # region -> reason
    chaos_freeze: str = ""  # non-empty: the SLO policy froze chaos, and why


class SignalSource(Protocol):
    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        """What this source says this cycle (called once per pass, after observing)."""


class StaticSignals:
    def __init__(self, fixed: Signals | None = None) -> None:
        self.fixed = fixed or Signals()

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        return self.fixed


class SloPolicySignals:
    """``slo.policy.evaluate`` over the current budgets: exhausted budgets per region, and
    the policy's chaos freeze."""

    def __init__(self, budgets: Callable[[], Sequence[BudgetStatus]],
                 region_of: Callable[[str], str | None]) -> None:
        self._budgets = budgets
        self._region_of = region_of

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        from slo.policy import DecisionKind, evaluate

        budgets = self._budgets()
        breaches: dict[str, str] = {}
        for b in budgets:
            region = getattr(b, "region", "") or self._region_of(b.service)
            if b.exhausted and region is not None:
                breaches.setdefault(region, f"{b.slo_id} error budget exhausted "
                                            f"({b.remaining:.1%} left)")
        freeze = next((d.reason for d in evaluate(budgets, [], now)
                       if d.kind is DecisionKind.FREEZE_CHAOS), "")
        return Signals(slo_breaches=breaches, chaos_freeze=freeze)


class AnomalySignals:
    """Feeds each region's probe latency to the anomaly detector; a region whose newest
    ``min_points`` scores are all at or above ``threshold`` is reported as anomalous.

    After an alarm the detector damps later scores by its quiet factor (NAB convention), so
    a continuing anomaly scores about ``quiet_factor``; the default threshold sits just
    below that, so a level shift that persists counts as sustained.
    """

    METRIC = "probe_latency_ms"

    def __init__(self, detector: AnomalyDetector, threshold: float | None = None,
                 min_points: int = 3) -> None:
        self._detector = detector
        self._threshold = threshold if threshold is not None else \
            0.8 * detector.config.scorer.quiet_factor
        self._min_points = min_points
        self._scores: dict[str, deque[float]] = {}

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        from anomaly.detector import sustained
        from anomaly.series import SeriesKey

        anomalies: dict[str, str] = {}
        for region, obs in observations.items():
            if obs.latency_s is None:
                continue
            score = self._detector.observe_epoch(SeriesKey(region, self.METRIC), now,
                                                 obs.latency_s * 1000)
            scores = self._scores.setdefault(region, deque(maxlen=self._min_points))
            scores.append(score)
            if sustained(scores, self._threshold, self._min_points):
                anomalies[region] = (f"probe latency anomalous for {self._min_points} cycles "
                                     f"(score {score:.2f} >= {self._threshold})")
        return Signals(anomalies=anomalies)


class CombinedSignals:
    def __init__(self, *sources: SignalSource) -> None:
        self._sources = sources

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        breaches: dict[str, str] = {}
        anomalies: dict[str, str] = {}
        freeze = ""
        for source in self._sources:
            s = source.signals(observations, now)
            breaches.update({k: v for k, v in s.slo_breaches.items() if k not in breaches})
            anomalies.update({k: v for k, v in s.anomalies.items() if k not in anomalies})
            freeze = freeze or s.chaos_freeze
        return Signals(breaches, anomalies, freeze)
