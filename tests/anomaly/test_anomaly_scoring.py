"""The streaming scorer's pieces: record ratios, running maxima, damping after an alarm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anomaly.scoring import ResidualScorer, ScorerConfig, record_ratio
from anomaly.scoring_reference import RobustSource, RunningMax


def test_record_ratio_ties_are_not_records() -> None:
    assert record_ratio(2.0, 1.0) == 2.0
    assert record_ratio(1.0, 1.0) < 1.0
    assert record_ratio(0.0, 5.0) == 0.0
    assert record_ratio(1.0, 0.0) == math.inf


def test_running_max_forgets_after_its_window() -> None:
    m = RunningMax(3)
    for x in (5.0, 1.0, 2.0):
        m.push(x)
    assert m.value() == 5.0
    m.push(1.0)  # 5.0 has left the window of 3
    assert m.value() == 2.0


def test_window_means_match_a_direct_computation() -> None:
    src = RobustSource(history=100, windows=(1, 3, 5))
    xs = [1.0, 4.0, -2.0, 7.0, 3.0, 0.5, -1.0]
    for i, x in enumerate(xs):
        got = src.channels(x)
        for w, level in zip((1, 3, 5), got, strict=True):
            tail = xs[max(0, i - w + 1) : i + 1]
            assert level == pytest.approx(abs(sum(tail) / len(tail)))


def test_one_alarm_then_quiet_while_still_outside_the_band() -> None:
    config = ScorerConfig(history=200, min_history=50, quiet_points=10, quiet_factor=0.2)
    scorer = ResidualScorer(config)
    rng = np.random.default_rng(1)
    for v in rng.normal(0, 1, 120):
        scorer.update(float(v), 0.0)
    first = scorer.update(30.0, 0.0)
    assert first >= 0.25  # a new record: alarm
    after = [scorer.update(30.0, 0.0) for _ in range(5)]
    assert after == [0.2] * 5  # damped, but visibly still anomalous
    assert scorer.update(math.nan, 0.0) == 0.0
