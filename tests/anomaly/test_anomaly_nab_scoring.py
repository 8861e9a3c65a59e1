"""The NAB scorer on hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anomaly.nab_corpus import STANDARD_PROFILES
from anomaly.nab_scoring import (
    OUTSIDE,
    CostProfile,
    best_threshold,
    normalise,
    probation_length,
    row_weights,
    scaled_sigmoid,
    score_at,
    sweep,
)

STANDARD, LOW_FP, LOW_FN = STANDARD_PROFILES
T0 = np.datetime64("2020-01-01T00:00:00", "us")


def stamps(n: int) -> np.ndarray:
    return T0 + np.arange(n) * np.timedelta64(300, "s")


def window(ts: np.ndarray, first: int, last: int) -> tuple[np.datetime64, np.datetime64]:
    return (ts[first], ts[last])


def test_scaled_sigmoid_reference_points() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0
    assert scaled_sigmoid(10.0) == -1.0


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert probation_length(100) == 15
    assert probation_length(4032) == 604
    assert probation_length(22695) == 750


def test_row_weights_inside_and_after_a_window() -> None:
    ts = stamps(40)  # probation: 6 rows
    w = row_weights(ts, [window(ts, 10, 14)], STANDARD)
    assert w.rows[0] == 6 and len(w.rows) == 34
    weight = dict(zip(w.rows.tolist(), w.weight.tolist(), strict=True))
    win = dict(zip(w.rows.tolist(), w.window.tolist(), strict=True))
    assert weight[9] == pytest.approx(-0.11)  # before any window: full FP cost
    assert win[9] == OUTSIDE
    assert weight[10] == pytest.approx(1.0)  # first row of the window: tp_weight exactly
    assert win[10] == 0
    width = 5
    assert weight[12] == pytest.approx(scaled_sigmoid(-3 / width) / scaled_sigmoid(-1.0))
    assert weight[14] == pytest.approx(scaled_sigmoid(-1 / width) / scaled_sigmoid(-1.0))
    # just after the window an FP is cheap; 3 widths later it costs the full fp_weight
    assert weight[15] == pytest.approx(0.11 * scaled_sigmoid(1 / (width - 1)))
    assert weight[15] > -0.11 * 0.9
    assert weight[30] == pytest.approx(-0.11)


def test_sweep_early_detection_and_one_false_positive() -> None:
    ts = stamps(40)
    weights = [row_weights(ts, [window(ts, 10, 14)], STANDARD)]
    scores = np.zeros(40)
    scores[10] = 0.9  # caught at the window's first row
    scores[30] = 0.5  # a false positive far from the window
    table = sweep([scores], weights, STANDARD)
    assert score_at(table, 0.9).score == pytest.approx(1.0)
    assert score_at(table, 0.5).score == pytest.approx(1.0 - 0.11)
    assert score_at(table, 0.0).score < 0  # every row flagged: 29 false positives
    best = best_threshold(table)
    assert best.threshold == pytest.approx(0.9) and best.tp == 1 and best.fp == 0
    nothing = score_at(table, math.inf)
    assert nothing.score == pytest.approx(-1.0) and nothing.fn == 1


def test_only_the_best_detection_in_a_window_counts() -> None:
    ts = stamps(40)
    weights = [row_weights(ts, [window(ts, 10, 14)], STANDARD)]
    late_only = np.zeros(40)
    late_only[14] = 1.0
    both = late_only.copy()
    both[11] = 0.8
    late = best_threshold(sweep([late_only], weights, STANDARD)).score
    early = best_threshold(sweep([both], weights, STANDARD)).score
    assert late == pytest.approx(scaled_sigmoid(-1 / 5) / scaled_sigmoid(-1.0))
    assert early == pytest.approx(scaled_sigmoid(-4 / 5) / scaled_sigmoid(-1.0))


def test_profiles_change_the_costs() -> None:
    ts = stamps(40)
    scores = np.zeros(40)
    scores[30] = 1.0  # one FP, the window missed
    for profile, expected in ((STANDARD, -1.11), (LOW_FP, -1.22), (LOW_FN, -2.11)):
        weights = [row_weights(ts, [window(ts, 10, 14)], profile)]
        assert score_at(sweep([scores], weights, profile), 1.0).score == pytest.approx(expected)


def test_window_inside_probation_is_not_counted() -> None:
    ts = stamps(100)  # probation: 15 rows
    weights = [row_weights(ts, [window(ts, 2, 5), window(ts, 50, 55)], STANDARD)]
    table = sweep([np.zeros(100)], weights, STANDARD)
    assert table[0].fn == 1  # only the second window can be missed
    assert table[0].score == pytest.approx(-1.0)


def test_normalisation_null_zero_perfect_hundred() -> None:
    assert normalise(-5.0, -5.0, 5.0) == 0.0
    assert normalise(5.0, -5.0, 5.0) == 100.0
    assert normalise(0.0, -5.0, 5.0) == 50.0
    assert normalise(1.0, 2.0, 2.0) == 0.0


def test_corpus_sweep_uses_one_threshold_for_all_files() -> None:
    ts = stamps(40)
    profile = CostProfile("p", 1.0, 0.5, 1.0)
    weights = [row_weights(ts, [window(ts, 10, 14)], profile)] * 2
    a = np.zeros(40)
    a[10] = 0.6  # file A: caught at 0.6
    b = np.zeros(40)
    b[10] = 0.3  # file B: caught only at 0.3, which also flags an FP in file A
    a[30] = 0.3
    best = best_threshold(sweep([a, b], weights, profile))
    # 0.6: 1 - 1 = 0;  0.3: 1 + 1 - 0.5 = 1.5
    assert best.threshold == pytest.approx(0.3)
    assert best.score == pytest.approx(1.5)
