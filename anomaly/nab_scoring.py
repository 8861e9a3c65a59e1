"""The NAB scoring rules, written from NAB's published description (pure, no I/O).

Per file: rows in the probationary period (the first ``min(floor(0.15 n), 0.15 * 5000)``) are
ignored. Every other row gets a weight: inside a labelled window, the scaled sigmoid of its
relative position (earliest row = ``tp_weight``, decaying towards the right edge); outside, a
negative ``fp_weight`` that is mild just after a window and -fp_weight far from (or before) any.
A detection is ``score >= threshold``. A window scores the best weight among its detected rows,
or ``-fn_weight`` if none; false positives add up. One threshold for the whole corpus is chosen
by sweeping every distinct score, and the total is normalised so the null detector scores 0 and
a perfect one (every window caught at its first row) scores 100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PROBATION_PERCENT = 0.15
OUTSIDE = -1  # window id of a row outside every window


@dataclass(frozen=True)
class CostProfile:
    """One NAB application profile's cost matrix."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


@dataclass(frozen=True)
class RowWeights:
    """Scorable rows of one file: their index, window id (``OUTSIDE`` or 0..), and weight."""

    rows: npt.NDArray[np.int64]
    window: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    n_windows: int


@dataclass(frozen=True)
class ThresholdScore:
    """The corpus score with every row scoring ``>= threshold`` flagged."""

    threshold: float
    score: float
    tp: int
    fp: int
    fn: int


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: -1 (left window edge) -> 0.98661, 0 -> 0, >= 3 -> -1."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that are never scored."""
    return int(min(math.floor(percent * n_rows), math.ceil(percent * 5000)))


def window_bounds(
    timestamps: npt.NDArray[np.datetime64], start: np.datetime64, end: np.datetime64
) -> tuple[int, int]:
    """Row indices of a window's first and last row (first exact match, else nearest inside)."""
    hits = np.flatnonzero(timestamps == start)
    left = int(hits[0]) if hits.size else int(np.flatnonzero(timestamps >= start)[0])
    hits = np.flatnonzero(timestamps == end)
    right = int(hits[0]) if hits.size else int(np.flatnonzero(timestamps <= end)[-1])
    return left, right


def row_weights(
    timestamps: npt.NDArray[np.datetime64],
    windows: Sequence[tuple[np.datetime64, np.datetime64]],
    profile: CostProfile,
) -> RowWeights:
    """Weight every scorable row of one file under ``profile``."""
    n = len(timestamps)
    window_of = np.full(n, OUTSIDE, dtype=np.int64)
    weight = np.empty(n, dtype=np.float64)
    bounds = [window_bounds(timestamps, s, e) for s, e in sorted(windows)]
    max_tp = scaled_sigmoid(-1.0)
    prev: tuple[int, int] | None = None  # (right index, width) of the last window passed
    k = 0
    i = 0
    while i < n:
        if k < len(bounds) and i == bounds[k][0]:
            left, right = bounds[k]
            width = right - left + 1
            for j in range(left, right + 1):
                position = -(right - j + 1) / width
                weight[j] = scaled_sigmoid(position) * profile.tp_weight / max_tp
                window_of[j] = k
            prev, k, i = (right, width), k + 1, right + 1
            continue
        # FP cost grows with distance past the last window; before any window it is full
        position = 3.0 if prev is None or prev[1] <= 1 else abs(prev[0] - i) / (prev[1] - 1)
        weight[i] = scaled_sigmoid(position) * profile.fp_weight
        i += 1
    start = probation_length(n)
    return RowWeights(
        rows=np.arange(start, n, dtype=np.int64),
        window=window_of[start:],
        weight=weight[start:],
        n_windows=len(bounds),
    )


def sweep(
    scores: Sequence[npt.NDArray[np.float64]],
    weights: Sequence[RowWeights],
    profile: CostProfile,
) -> list[ThresholdScore]:
    """Corpus score at every distinct threshold, highest threshold first."""
    all_scores, all_windows, all_weights = [], [], []
    offset = 0
    for s, w in zip(scores, weights, strict=True):
        all_scores.append(np.asarray(s, dtype=np.float64)[w.rows])
        all_windows.append(np.where(w.window == OUTSIDE, OUTSIDE, w.window + offset))
        all_weights.append(w.weight)
        offset += w.n_windows
    flat_s = np.concatenate(all_scores) if all_scores else np.empty(0)
    flat_win = np.concatenate(all_windows) if all_windows else np.empty(0, dtype=np.int64)
    flat_w = np.concatenate(all_weights) if all_weights else np.empty(0)
    # Only windows with a scorable row can be missed (NAB drops windows inside probation).
    best = {int(g): -profile.fn_weight for g in np.unique(flat_win[flat_win != OUTSIDE])}
    order = np.argsort(-flat_s, kind="stable")
    total = sum(best.values())
    tp = fp = 0
    out = [ThresholdScore(math.inf, total, 0, 0, len(best))]
    for idx, i in enumerate(order):
        g = int(flat_win[i])
        if g == OUTSIDE:
            total += float(flat_w[i])
            fp += 1
        else:
            tp += best[g] == -profile.fn_weight
            if flat_w[i] > best[g]:
                total += float(flat_w[i]) - best[g]
                best[g] = float(flat_w[i])
        last = idx + 1 == len(order) or flat_s[order[idx + 1]] != flat_s[i]
        if last:
            out.append(ThresholdScore(float(flat_s[i]), total, tp, fp, len(best) - tp))
    return out


def best_threshold(table: Sequence[ThresholdScore]) -> ThresholdScore:
    """The threshold with the highest corpus score (the highest such threshold on ties)."""
    return max(table, key=lambda t: t.score)


def score_at(table: Sequence[ThresholdScore], threshold: float) -> ThresholdScore:
    """The corpus score when flagging rows ``>= threshold``."""
    chosen = table[0]
    for row in table:
        if row.threshold >= threshold:
            chosen = row
    return chosen


def normalise(raw: float, null: float, perfect: float) -> float:
    """Map the null detector to 0 and the perfect detector to 100."""
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)
