"""The NAB harness: stream every file through a detector, write results, score the corpus."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from anomaly.detector import AnomalyDetector, DetectorConfig
from anomaly.errors import AnomalyError
from anomaly.nab_corpus import DataFile, read_data_file, write_result
from anomaly.nab_scoring import (
    CostProfile,
    best_threshold,
    normalise,
    row_weights,
    sweep,
)
from anomaly.series import SeriesKey
from kernel.clock import FakeClock

log = logging.getLogger(__name__)
Windows = dict[str, list[tuple[np.datetime64, np.datetime64]]]
SCORE_DECIMALS = 9  # scores are rounded once, so the files written and the scores swept agree


def stream_covenant(data: DataFile, config: DetectorConfig) -> npt.NDArray[np.float64]:
    """Row t's score uses rows <= t only: score, then learn, then (maybe) refit."""
    detector = AnomalyDetector(config, clock=FakeClock())
    scores = detector.stream(SeriesKey("nab", data.name), data.epochs(), data.values.tolist())
    return np.asarray(scores, dtype=np.float64)


def stream_null(data: DataFile, config: DetectorConfig) -> npt.NDArray[np.float64]:
    """NAB's null detector: the same score for every row."""
    return np.full(len(data.values), 0.5)


DETECTORS: dict[str, Callable[[DataFile, DetectorConfig], npt.NDArray[np.float64]]] = {
    "covenant": stream_covenant,
    "null": stream_null,
}


@dataclass(frozen=True)
class FileRun:
    """One file's scores and how long it took."""

    name: str
    scores: npt.NDArray[np.float64]
    seconds: float


@dataclass(frozen=True)
class ProfileResult:
    """A detector's corpus result under one cost profile."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    score: float
    windows_detected: int
    windows_missed: int
    false_positive_rows: int


def _run_one(args: tuple[Path, str, str, Path | None, DetectorConfig]) -> FileRun:
    root, name, detector, out, config = args
    started = time.perf_counter()
    data = read_data_file(root, name)
    raw = np.clip(DETECTORS[detector](data, config), 0.0, 1.0)
    scores = np.round(raw, SCORE_DECIMALS).astype(np.float64)
    if out is not None:
        write_result(out, detector, data, scores)
    return FileRun(name, scores, time.perf_counter() - started)


def run_corpus(
    root: Path,
    names: Sequence[str],
    detector: str,
    out: Path | None,
    config: DetectorConfig,
    workers: int = 2,
) -> list[FileRun]:
    """Run ``detector`` over every file, ``workers`` processes, longest files first."""
    if detector not in DETECTORS:
        raise AnomalyError(f"unknown detector {detector!r}; choose one of {sorted(DETECTORS)}")
    sizes = {n: (root / n).stat().st_size for n in names}
    ordered = sorted(names, key=lambda n: -sizes[n])  # long files first keeps both cores busy
    jobs = [(root, n, detector, out, config) for n in ordered]
    if workers <= 1:
        runs = [_run_one(j) for j in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            runs = pool.map(_run_one, jobs, chunksize=1)
    by_name = {r.name: r for r in runs}
    return [by_name[n] for n in names]


def evaluate(
    files: Sequence[DataFile],
    scores: Sequence[npt.NDArray[np.float64]],
    windows: Windows,
    profiles: Sequence[CostProfile],
) -> list[ProfileResult]:
    """Sweep one threshold per profile over the whole corpus, then normalise."""
    results = []
    for profile in profiles:
        weights = [row_weights(f.timestamps, windows.get(f.name, []), profile) for f in files]
        best = best_threshold(sweep(scores, weights, profile))
        null_scores = [np.full(len(f.values), 0.5) for f in files]
        null = best_threshold(sweep(null_scores, weights, profile)).score
        perfect = profile.tp_weight * sum(len(windows.get(f.name, [])) for f in files)
        results.append(
            ProfileResult(
                profile=profile.name,
                threshold=best.threshold,
                raw=best.score,
                null=null,
                perfect=perfect,
                score=normalise(best.score, null, perfect),
                windows_detected=best.tp,
                windows_missed=best.fn,
                false_positive_rows=best.fp,
            )
        )
    return results
