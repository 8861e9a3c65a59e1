"""The toxics' arithmetic, table-tested with injected RNGs (spec 1.7.2-1.7.3)."""

from __future__ import annotations

import random

import pytest

from chaos import toxic_math


class FixedRng:
    """random() returns the queued draws; randrange returns its lowest or highest value."""

    def __init__(self, draws: list[float], high: bool = False) -> None:
        self.draws = draws
        self.high = high

    def random(self) -> float:
        return self.draws.pop(0)

    def randrange(self, start: int, stop: int) -> int:
        return stop - 1 if self.high else start


@pytest.mark.parametrize(
    ("toxicity", "draw", "applies"),
    [(1.0, 0.999, True), (0.0, 0.0, False), (0.5, 0.49, True), (0.5, 0.5, False), (2.5, 0.9, True)],
)
def test_toxicity_is_draw_below_toxicity(toxicity: float, draw: float, applies: bool) -> None:
    assert toxic_math.toxic_applies(toxicity, FixedRng([draw])) is applies


def test_seeded_toxicity_is_reproducible_and_about_half() -> None:
    rng_a, rng_b = random.Random(42), random.Random(42)
    a = [toxic_math.toxic_applies(0.5, rng_a) for _ in range(10_000)]
    b = [toxic_math.toxic_applies(0.5, rng_b) for _ in range(10_000)]
    assert a == b
    assert 4_700 <= sum(a) <= 5_300  # 6 sigma: cannot flake, and the seed fixes it anyway


@pytest.mark.parametrize(
    ("latency", "jitter", "high", "expected"),
    [(100, 0, False, 100), (100, 10, False, 90), (100, 10, True, 109), (5, 10, False, 0)],
)
def test_latency_delay(latency: int, jitter: int, high: bool, expected: int) -> None:
    assert toxic_math.latency_delay_ms(latency, jitter, FixedRng([], high)) == expected


def test_slicer_one_byte_pieces_of_24_bytes() -> None:
    assert toxic_math.slice_sizes(24, 1, 0, random.Random(1)) == [1] * 24


@pytest.mark.parametrize("seed", range(5))
def test_slicer_keeps_every_byte_and_bounds_pieces(seed: int) -> None:
    sizes = toxic_math.slice_sizes(32_768, 1024, 512, random.Random(seed))
    assert sum(sizes) == 32_768
    assert all(0 < size <= 1024 + 512 for size in sizes)


def test_slicer_clamps_nonpositive_average() -> None:
    assert toxic_math.slice_sizes(5, 0, 0, random.Random(0)) == [1] * 5
    assert toxic_math.slice_sizes(0, 10, 0, random.Random(0)) == []


def test_slicer_whole_chunk_when_small_enough() -> None:
    assert toxic_math.slice_sizes(100, 80, 30, random.Random(0)) == [100]


def test_bandwidth_pieces_are_100ms_worth() -> None:
    assert toxic_math.bandwidth_pieces(250_000, 1000) == [100_000, 100_000, 50_000]
    assert toxic_math.bandwidth_pieces(500, 100) == [500]


def test_pacer_charges_rate_and_pays_back_oversleep() -> None:
    pacer = toxic_math.Pacer(rate_kbs=100)  # 100,000 bytes/s
    assert pacer.charge(10_000) == pytest.approx(0.1)
    pacer.settle(0.15)  # overslept by 50 ms
    assert pacer.charge(10_000) == pytest.approx(0.05)


def test_split_chunks_32k() -> None:
    data = bytes(70_000)
    assert [len(c) for c in toxic_math.split_chunks(data)] == [32_768, 32_768, 4_464]
    assert toxic_math.split_chunks(b"ab") == [b"ab"]
