"""Prometheus gauges for the dynamic thresholds and scores (on a registry passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge

from anomaly.detector import AnomalyDetector

LABELS = ("region", "metric")


@dataclass(frozen=True)
class AnomalyMetrics:
    """``covenant_anomaly_band_lower`` / ``_upper`` / ``covenant_anomaly_score``."""

    band_lower: Gauge
    band_upper: Gauge
    score: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> AnomalyMetrics:
        """Create the three gauges on ``registry`` (never the global default)."""
        return cls(
            band_lower=Gauge(
                "covenant_anomaly_band_lower",
                "Lower edge of the forecast band (dynamic threshold)",
                LABELS,
                registry=registry,
            ),
            band_upper=Gauge(
                "covenant_anomaly_band_upper",
                "Upper edge of the forecast band (dynamic threshold)",
                LABELS,
                registry=registry,
            ),
            score=Gauge(
                "covenant_anomaly_score",
                "Anomaly score of the newest point, 0 (normal) to 1",
                LABELS,
                registry=registry,
            ),
        )

    def record(self, region: str, metric: str, lower: float, upper: float, score: float) -> None:
        """Set the three gauges of one series."""
        self.band_lower.labels(region, metric).set(lower)
        self.band_upper.labels(region, metric).set(upper)
        self.score.labels(region, metric).set(score)

    def observe(
        self, detector: AnomalyDetector, region: str, metric: str, ts: datetime, value: float
    ) -> float:
        """Score a point through ``detector`` and export its band and score."""
        score = detector.observe(region, metric, ts, value)
        lower, upper = detector.band(region, metric, ts)
        self.record(region, metric, lower, upper, score)
        return score
