"""``covenant anomaly plot``: stream one CSV through the detector and draw the result."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from anomaly.detector import AnomalyDetector, DetectorConfig
from anomaly.nab_corpus import read_data_file, read_windows
from anomaly.plot import render_png
from anomaly.series import SeriesKey


def plot_file(
    data: Path, labels: Path | None, name: str | None, threshold: float,
    config: DetectorConfig | None = None,
) -> bytes:
    """PNG of ``data`` with the band the detector held at each point and its flags."""
    key_name = name or f"{data.parent.name}/{data.name}"
    series = read_data_file(data.parent, data.name)
    detector = AnomalyDetector(config, clock=lambda: 0.0)
    key = SeriesKey("plot", key_name)
    epochs = series.timestamps.astype("datetime64[us]").astype(np.int64) / 1e6
    stamps = [datetime.fromtimestamp(t, UTC) for t in epochs.tolist()]
    lower, upper, scores = [], [], []
    for stamp, t, v in zip(stamps, epochs.tolist(), series.values.tolist(), strict=True):
        lo, hi = detector.band(key.region, key.metric, stamp)
        lower.append(lo)
        upper.append(hi)
        scores.append(detector.observe_epoch(key, t, v))
        if detector.is_due(key):
            detector.refit(key)
    windows = []
    if labels is not None:
        for start, end in read_windows(labels).get(key_name, []):
            windows.append((_to_datetime(start), _to_datetime(end)))
    return render_png(
        stamps, series.values.tolist(), lower, upper, scores, threshold, key_name, windows
    )


def _to_datetime(stamp: np.datetime64) -> datetime:
    seconds = stamp.astype("datetime64[us]").astype(np.int64) / 1e6
    return datetime.fromtimestamp(float(seconds), UTC)
