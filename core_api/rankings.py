"""Rankings of countries by a metric (GDP, contribution, benefit): pure ordering logic."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RankedValue:
    rank: int
    iso3: str
    value: int


def rank(values: Iterable[tuple[str, int | None]]) -> list[RankedValue]:
    """Highest first; equal values share a rank ("1224" competition ranking); ties by iso3.

    Countries without a value (no GDP data) are left out rather than ranked last, since
    "unknown" is not "smallest".
    """
    known = sorted(((iso3, v) for iso3, v in values if v is not None), key=lambda x: (-x[1], x[0]))
    ranked: list[RankedValue] = []
    for position, (iso3, value) in enumerate(known, start=1):
        same_as_previous = ranked and ranked[-1].value == value
        ranked.append(RankedValue(ranked[-1].rank if same_as_previous else position, iso3, value))
    return ranked
