"""``covenant anomaly plot``: stream one CSV through the detector and draw the result."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from anomaly.detector import AnomalyDetector, DetectorConfig
from anomaly.nab_corpus import epoch_seconds, read_data_file, read_windows
from anomaly.plot import render_png
from anomaly.series import SeriesKey
from kernel.clock import FakeClock


def plot_file(
    data: Path, labels: Path | None, name: str | None, threshold: float,
    config: DetectorConfig | None = None,
) -> bytes:
    """PNG of ``data`` with the band the detector held at each point and its flags."""
    key_name = name or f"{data.parent.name}/{data.name}"
    series = read_data_file(data.parent, data.name)
    detector = AnomalyDetector(config, clock=FakeClock())
    key = SeriesKey("plot", key_name)
    epochs = series.epochs()
    stamps = [datetime.fromtimestamp(t, UTC) for t in epochs]
    lower, upper = [], []

    def record_band(t: float) -> None:  # the band each point is judged against
        lo, hi = detector.band(key.region, key.metric, datetime.fromtimestamp(t, UTC))
        lower.append(lo)
        upper.append(hi)

    scores = detector.stream(key, epochs, series.values.tolist(), before=record_band)
    windows = []
    if labels is not None:
        for start, end in read_windows(labels).get(key_name, []):
            windows.append((_to_datetime(start), _to_datetime(end)))
    return render_png(
        stamps, series.values.tolist(), lower, upper, scores, threshold, key_name, windows
    )


def _to_datetime(stamp: np.datetime64) -> datetime:
    return datetime.fromtimestamp(float(epoch_seconds(np.array([stamp]))[0]), UTC)
