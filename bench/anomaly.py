"""``covenant bench anomaly``: scoring throughput, refit time and memory at fleet size."""

from __future__ import annotations

import gc
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import psutil

from anomaly.detector import AnomalyDetector, DetectorConfig
from anomaly.series import SeriesKey
from kernel.clock import FakeClock

STEP_S = 60.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def fleet_config(days: float) -> DetectorConfig:
    """The NAB configuration with a 14-day history and a one-day cached horizon."""
    points = int(days * 86400 / STEP_S)
    base = DetectorConfig()
    return replace(
        base,
        history_points=points,
        forecast=replace(base.forecast, train_points=points, horizon_points=1440),
        refit_every_points=10**9,  # this benchmark refits explicitly
    )


def synthetic(n: int, seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """1-minute points: level + daily and weekly cycles + noise + rare spikes."""
    rng = np.random.default_rng(seed)
    ts = START + STEP_S * np.arange(n)
    day = 2 * np.pi * (ts % 86400) / 86400
    week = 2 * np.pi * (ts % 604800) / 604800
    level = rng.uniform(50, 500)
    values = level * (1 + 0.3 * np.sin(day) + 0.1 * np.sin(week)) + rng.normal(0, level * 0.03, n)
    spikes = rng.random(n) < 0.0005
    values[spikes] *= 2.0
    return ts.astype(np.float64), values.astype(np.float64)


def run_perf(regions: int, metrics: int, days: float, workers: int) -> dict[str, float]:
    """Backfill, refit every series, then score the next hours against the cached bands."""
    from prophet import Prophet  # noqa: F401  (import cost is not the models' memory)

    proc = psutil.Process()
    gc.collect()
    rss_before = proc.memory_info().rss
    detector = AnomalyDetector(fleet_config(days), clock=FakeClock())  # refits are explicit
    history = int(days * 86400 / STEP_S)
    ahead = 1440
    keys = [SeriesKey(f"region-{r}", f"metric-{m}") for r in range(regions) for m in range(metrics)]
    future: dict[SeriesKey, tuple[list[float], list[float]]] = {}
    for i, key in enumerate(keys):
        ts, values = synthetic(history + ahead, seed=i)
        detector.backfill(key, ts[:history].tolist(), values[:history].tolist())
        # Python floats, as a scrape parser hands them over (numpy scalar indexing in the
        # timed loop would be the benchmark's cost, not the detector's).
        future[key] = (ts[history:].tolist(), values[history:].tolist())
    started = time.perf_counter()
    detector.refit_many(keys, workers=workers)
    refit_s = time.perf_counter() - started
    fits = detector.fits
    gc.collect()
    rss_models = proc.memory_info().rss
    warm = detector.config.scorer.min_history + 50
    started = time.perf_counter()
    _score(detector, keys, future, 0, warm)  # the scorer's cold start (statistics every point)
    warm_s = time.perf_counter() - started
    started = time.perf_counter()
    points = _score(detector, keys, future, warm, ahead)
    score_s = time.perf_counter() - started
    return {
        "series": float(len(keys)),
        "history_points_per_series": float(history),
        "refit_seconds": round(refit_s, 2),
        "refit_workers": float(workers),
        "fits": float(fits),
        "scored_points": float(points),
        "score_points_per_s": round(points / score_s, 0),
        "cold_start_points_per_s": round(warm * len(keys) / warm_s, 0),
        "prophet_calls_while_scoring": float(detector.fits - fits),
        "rss_mb_total": round(proc.memory_info().rss / 2**20, 1),
        "rss_mb_models_and_bands": round((rss_models - rss_before) / 2**20, 1),
        "detector_bytes_mb": round(detector.resident_bytes() / 2**20, 1),
    }


def _score(
    detector: AnomalyDetector,
    keys: list[SeriesKey],
    future: dict[SeriesKey, tuple[list[float], list[float]]],
    first: int,
    last: int,
) -> int:
    """Score minutes [first, last) across the fleet, one minute at a time like a scrape loop."""
    for j in range(first, last):
        for key in keys:
            ts, values = future[key]
            detector.observe_epoch(key, ts[j], values[j])
    return (last - first) * len(keys)
