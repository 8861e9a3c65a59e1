"""The streaming detector: causality, messy input, persistence, the O(1) path, refit hooks."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import anomaly.detector as detector_module
from anomaly.detector import AnomalyDetector, DetectorConfig, sustained
from anomaly.errors import AnomalyError
from anomaly.forecast import ForecastConfig
from anomaly.scoring import ScorerConfig
from anomaly.series import SeriesKey
from kernel.clock import FakeClock

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SMALL = DetectorConfig(
    forecast=ForecastConfig(train_points=300, max_fit_points=300, horizon_points=120),
    scorer=ScorerConfig(history=300, min_history=40),
    history_points=400,
    min_fit_points=60,
    refit_every_points=80,
)


def seasonal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 10 * np.sin(2 * np.pi * t / 48) + rng.normal(0, 1, n)


def stream(values: np.ndarray, config: DetectorConfig = SMALL, step_min: int = 30) -> list[float]:
    det = AnomalyDetector(config, clock=FakeClock())
    out = []
    for i, v in enumerate(values):
        out.append(det.observe("ams", "latency", T0 + timedelta(minutes=step_min * i), float(v)))
        key = SeriesKey("ams", "latency")
        if det.is_due(key):
            det.refit(key)
    return out


def test_scores_are_causal() -> None:
    base = seasonal(260)
    changed = base.copy()
    changed[200:] += np.linspace(0, 80, 60)  # rewrite the future
    a, b = stream(base), stream(changed)
    assert a[:200] == b[:200]
    assert a[200:] != b[200:]
    assert all(0.0 <= s <= 1.0 for s in a + b)


def test_a_spike_scores_high_after_warm_up() -> None:
    values = seasonal(260)
    values[230] += 60
    scores = stream(values)
    assert scores[230] >= 0.25
    assert max(scores[150:230]) < scores[230]


def test_messy_input_nan_duplicates_unsorted_and_gaps() -> None:
    det = AnomalyDetector(SMALL, clock=FakeClock())
    key = SeriesKey("iad", "errors")
    values = seasonal(200)
    minutes = list(range(200))
    minutes[50] = minutes[49]  # duplicate timestamp
    minutes[80], minutes[81] = minutes[81], minutes[80]  # out of order
    minutes[120:] = [m + 600 for m in minutes[120:]]  # a ten-hour gap
    for i, (m, v) in enumerate(zip(minutes, values, strict=True)):
        value = math.nan if i % 37 == 0 else float(v)
        score = det.observe(key.region, key.metric, T0 + timedelta(minutes=30 * m), value)
        assert 0.0 <= score <= 1.0
        if math.isnan(value):
            assert score == 0.0
        if det.is_due(key):
            det.refit(key)
    assert det.fits >= 1
    lower, upper = det.band(key.region, key.metric, T0 + timedelta(minutes=30 * 900))
    assert math.isfinite(lower) and lower < upper


def test_constant_series_is_quiet_then_a_jump_is_flagged() -> None:
    values = np.full(200, 5.0)
    values[180] = 9.0
    scores = stream(values)
    assert max(scores[:180]) == 0.0
    assert scores[180] == 1.0


def test_persistence_round_trip(tmp_path: Path) -> None:
    det = AnomalyDetector(SMALL, clock=FakeClock(), model_dir=tmp_path)
    key = SeriesKey("syd", "traffic")
    for i, v in enumerate(seasonal(100)):
        det.observe(key.region, key.metric, T0 + timedelta(minutes=30 * i), float(v))
    det.refit(key)
    assert list(tmp_path.glob("*.json"))  # written at refit time
    assert det.save(tmp_path) == 1
    restored = AnomalyDetector(SMALL, clock=FakeClock())
    assert restored.load(tmp_path) == 1
    when = T0 + timedelta(minutes=30 * 110)
    assert restored.expected(key.region, key.metric, when) == det.expected(
        key.region, key.metric, when
    )
    from anomaly.persistence import load_model

    state = restored._series[key]
    assert state.model_json is not None
    model = load_model(state.model_json)
    assert getattr(model, "history", None) is not None


def test_corrupt_model_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AnomalyError, match="bad.json"):
        AnomalyDetector(SMALL).load(tmp_path)


def test_scoring_uses_the_cached_band_without_prophet(monkeypatch: pytest.MonkeyPatch) -> None:
    det = AnomalyDetector(SMALL, clock=FakeClock())
    key = SeriesKey("sin", "latency")
    for i, v in enumerate(seasonal(100)):
        det.observe(key.region, key.metric, T0 + timedelta(minutes=30 * i), float(v))
    det.refit(key)
    band = det._series[key].band
    assert band is not None

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("Prophet was called on the scoring path")

    monkeypatch.setattr(detector_module, "fit", forbidden)
    from prophet import Prophet

    monkeypatch.setattr(Prophet, "predict", forbidden)
    monkeypatch.setattr(Prophet, "fit", forbidden)
    for i in range(100, 160):
        when = T0 + timedelta(minutes=30 * i)
        assert det.expected(key.region, key.metric, when) == band.expected_at(when.timestamp())
        det.observe(key.region, key.metric, when, 100.0)
    assert det.fits == 1


def test_refit_schedule_follows_the_injected_clock() -> None:
    clock = FakeClock()
    config = replace(SMALL, refit_every_points=10**6, refit_interval_s=600.0)
    det = AnomalyDetector(config, clock=clock)
    key = SeriesKey("jnb", "latency")
    for i, v in enumerate(seasonal(80)):
        det.observe(key.region, key.metric, T0 + timedelta(minutes=i), float(v))
    assert det.due() == [key]  # enough points, never fitted
    assert det.refit_due() == 1
    assert det.due() == []
    clock.set(599.0)
    assert det.due() == []
    clock.set(600.0)
    assert det.due() == [key]


def test_a_failing_first_fit_is_retried_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise AnomalyError("Prophet could not fit")

    monkeypatch.setattr(detector_module, "fit", failing)
    stream(seasonal(300))  # min_fit_points 60, refit_every_points 80: tries at 60, 140, 220, 300
    assert len(calls) == 4


def test_refit_of_an_unknown_series_is_an_error() -> None:
    with pytest.raises(AnomalyError, match="observe points first"):
        AnomalyDetector(SMALL).refit(SeriesKey("x", "y"))


@pytest.mark.parametrize(
    ("scores", "threshold", "n", "expected"),
    [
        ([0.1, 0.9, 0.9, 0.9], 0.5, 3, True),
        ([0.9, 0.9, 0.1], 0.5, 2, False),
        ([0.9], 0.5, 2, False),
        ([0.5, 0.5], 0.5, 2, True),
    ],
)
def test_sustained(scores: list[float], threshold: float, n: int, expected: bool) -> None:
    assert sustained(scores, threshold, n) is expected


def test_sustained_rejects_zero_points() -> None:
    with pytest.raises(AnomalyError, match="min_points"):
        sustained([1.0], 0.5, 0)


def test_refit_many_fits_several_series_on_threads() -> None:
    det = AnomalyDetector(SMALL, clock=FakeClock())
    keys = [SeriesKey("ams", "a"), SeriesKey("iad", "b"), SeriesKey("syd", "c")]
    for n, key in enumerate(keys):
        for i, v in enumerate(seasonal(90, seed=n)):
            det.observe(key.region, key.metric, T0 + timedelta(minutes=30 * i), float(v))
    assert sorted(det.due(), key=str) == sorted(keys, key=str)
    assert det.refit_due(workers=2) == 3
    assert det.fits == 3 and det.due() == []
    assert det.resident_bytes() > 0
