"""The fast scorer (the detector's hot path) against the readable reference, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from anomaly.scoring import ResidualScorer, ScorerConfig, Source, median
from anomaly.scoring_reference import ReferenceScorer

SMALL = ScorerConfig(history=300, min_history=60, refresh_every=7, quiet_points=20,
                     value_windows=(1, 5, 17))


def messy(n: int, seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Seasonal values with spikes, a flat run, zeros, a level shift, a slow decay, NaN and inf;
    a forecast that is itself noisy and sometimes missing."""
    rng = np.random.default_rng(seed)
    values = 100 + 10 * np.sin(np.arange(n) / 30) + rng.normal(0, 1, n)
    values[rng.random(n) < 0.01] *= 3
    values[500:800] = 42.0
    values[900:950] = 0.0
    values[1200:] += 25
    values[2000:2600] = np.linspace(400, 0, 600)  # decaying levels: records keep expiring
    values[rng.random(n) < 0.01] = np.nan
    values[rng.random(n) < 0.002] = np.inf
    expected = values * 0.98 + rng.normal(0, 0.5, n)
    expected[rng.random(n) < 0.01] = np.nan
    return values, expected


@pytest.mark.parametrize("config", [ScorerConfig(), SMALL], ids=["default", "small"])
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_scores_equal_the_reference_scores(config: ScorerConfig, seed: int) -> None:
    values, expected = messy(5000, seed)
    fast, reference = ResidualScorer(config), ReferenceScorer(config)
    got = [fast.update(float(v), float(e)) for v, e in zip(values, expected, strict=True)]
    want = [reference.update(float(v), float(e)) for v, e in zip(values, expected, strict=True)]
    assert got == want  # exact, not approx: the same arithmetic in the same order
    assert sum(s >= 0.25 for s in got) >= 5  # the series does raise alarms
    assert any(s == config.quiet_factor for s in got)  # and damped-but-outside points
    assert (fast.scale, fast.location) == (reference.scale, reference.location)


def test_median_matches_numpy_exactly() -> None:
    rng = np.random.default_rng(3)
    for n in range(1, 80):
        sample = rng.normal(size=n)
        sample[rng.random(n) < 0.3] = 0.0
        sample[: n // 4] = sample[0]  # ties
        assert median(sample) == float(np.median(sample))
        assert median(sample.copy(), in_place=True) == float(np.median(sample))


def test_record_rescans_when_the_best_leaves_the_window() -> None:
    src = Source(history=4, windows=(1,))
    pasts: list[float] = []
    for n, x in enumerate([9.0, 5.0, 7.0, 1.0, 2.0, 0.5, 0.25, 0.1]):
        past = [0.0]
        src.channels(x, n, [0.0], past, 0)
        pasts.append(past[0])
    # Record before each point = max of the previous 4 levels (|x| with scale 1, location 0).
    assert pasts == [0.0, 9.0, 9.0, 9.0, 9.0, 7.0, 7.0, 2.0]
    assert math.isclose(src.best[0], 2.0)
