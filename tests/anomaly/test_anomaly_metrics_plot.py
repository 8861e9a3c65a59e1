"""Prometheus gauges and the PNG plot."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from anomaly.detector import AnomalyDetector
from anomaly.errors import AnomalyError
from anomaly.metrics import AnomalyMetrics
from anomaly.plot import render_png

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_band_and_score_gauges_are_exported_per_region_and_metric() -> None:
    registry = CollectorRegistry()
    metrics = AnomalyMetrics.register(registry)
    detector = AnomalyDetector()
    for i in range(30):
        metrics.observe(detector, "ams", "latency", T0 + timedelta(minutes=i), 100.0 + i % 3)
    text = generate_latest(registry).decode()
    for name in ("covenant_anomaly_band_lower", "covenant_anomaly_band_upper",
                 "covenant_anomaly_score"):
        assert f'{name}{{metric="latency",region="ams"}}' in text
    lower = registry.get_sample_value(
        "covenant_anomaly_band_lower", {"region": "ams", "metric": "latency"})
    upper = registry.get_sample_value(
        "covenant_anomaly_band_upper", {"region": "ams", "metric": "latency"})
    assert lower is not None and upper is not None
    assert math.isfinite(lower) and lower < upper


def test_metrics_stay_on_the_registry_passed_in() -> None:
    a, b = CollectorRegistry(), CollectorRegistry()
    AnomalyMetrics.register(a).record("iad", "errors", 1.0, 2.0, 0.5)
    AnomalyMetrics.register(b)
    assert a.get_sample_value("covenant_anomaly_score", {"region": "iad", "metric": "errors"}) \
        == 0.5
    assert b.get_sample_value("covenant_anomaly_score", {"region": "iad", "metric": "errors"}) \
        is None


def test_render_png_draws_series_band_flags_and_windows() -> None:
    stamps = [T0 + timedelta(minutes=i) for i in range(50)]
    values = [float(i % 7) for i in range(50)]
    png = render_png(
        stamps, values, [v - 1 for v in values], [v + 1 for v in values],
        [1.0 if i == 25 else 0.0 for i in range(50)], 0.5, "ams latency",
        [(stamps[20], stamps[30])],
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 1000


def test_render_png_rejects_mismatched_lengths() -> None:
    with pytest.raises(AnomalyError, match="scores has 2 points"):
        render_png([T0], [1.0], scores=[0.0, 1.0])
