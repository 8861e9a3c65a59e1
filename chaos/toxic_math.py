"""The arithmetic of the toxics (spec 1.7.2-1.7.3): pure, RNG injected, table-testable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MAX_CHUNK = 32 * 1024  # Go's io.Copy buffer: the unit latency, bandwidth and slicer work on


class Rng(Protocol):
    def random(self) -> float: ...

    def randrange(self, start: int, stop: int) -> int: ...


def toxic_applies(toxicity: float, rng: Rng) -> bool:
    """One draw per connection-direction: the toxic acts when ``draw < toxicity``."""
    return rng.random() < toxicity


def latency_delay_ms(latency: int, jitter: int, rng: Rng) -> int:
    """``latency + U[-jitter, +jitter)`` drawn per chunk, never negative."""
    delay = latency
    if jitter > 0:
        delay += rng.randrange(-jitter, jitter)
    return max(0, delay)


def slice_sizes(length: int, average: int, variation: int, rng: Rng) -> list[int]:
    """Piece sizes for one chunk: halve (shifted by U[-variation, variation)) until a piece
    is within ``average + variation``. ``average`` is clamped to 1 (Go recurses forever on 0)."""
    average = max(1, average)
    variation = max(0, variation)
    sizes: list[int] = []
    stack = [length]
    while stack:
        size = stack.pop()
        if size - average <= variation:
            if size > 0:
                sizes.append(size)
            continue
        mid = size // 2
        if variation > 0:
            mid += rng.randrange(-variation, variation)
        if not 0 < mid < size:
            mid = size // 2
        stack.append(size - mid)  # right half, popped after the left
        stack.append(mid)
    return sizes


def bandwidth_pieces(length: int, rate_kbs: int) -> list[int]:
    """Split a chunk into pieces of at most 100 ms worth of bytes (``rate*100``)."""
    step = rate_kbs * 100
    pieces = [step] * (length // step)
    if length % step:
        pieces.append(length % step)
    return pieces


@dataclass
class Pacer:
    """Bandwidth pacing with error correction: oversleeping is paid back on the next piece."""

    rate_kbs: int
    debt: float = 0.0

    def charge(self, size: int) -> float:
        """Seconds to sleep before emitting ``size`` bytes (1 KB = 1000 bytes)."""
        self.debt += size / (self.rate_kbs * 1000)
        return max(0.0, self.debt)

    def settle(self, slept: float) -> None:
        self.debt -= slept


def split_chunks(data: bytes, size: int = MAX_CHUNK) -> list[bytes]:
    if len(data) <= size:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]
