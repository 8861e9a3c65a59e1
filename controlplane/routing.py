"""Routing weights (pure): a home region's traffic goes to itself or its nearest serving region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FULL_WEIGHT = 100


@dataclass(frozen=True, slots=True)
class RouteTable:
    """``weights[home][target]``: the share (0-100) of ``home``'s traffic sent to ``target``."""

    weights: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]

    @classmethod
    def from_targets(cls, targets: Mapping[str, str]) -> RouteTable:
        return cls(tuple((home, ((target, FULL_WEIGHT),))
                         for home, target in sorted(targets.items())))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {home: dict(ws) for home, ws in self.weights}

    def target(self, home: str) -> str | None:
        """The region taking the largest share of ``home``'s traffic."""
        for h, ws in self.weights:
            if h == home and ws:
                return max(ws, key=lambda w: w[1])[0]
        return None

    def moved(self) -> dict[str, str]:
        """Homes whose traffic goes elsewhere, with where it goes."""
        return {h: t for h in self.as_dict() if (t := self.target(h)) is not None and t != h}


def compute_routes(regions: tuple[str, ...], nearest: Mapping[str, tuple[str, ...]],
                   serving: Mapping[str, bool], fail_open: bool = True) -> RouteTable:
    """Each home to itself when serving, else to the nearest serving region.

    With no region serving at all, ``fail_open`` keeps every home on itself: sending all
    traffic to one arbitrary sick region would only make things worse.
    """
    if not any(serving.get(r, False) for r in regions) and fail_open:
        return RouteTable.from_targets({r: r for r in regions})
    targets: dict[str, str] = {}
    for home in regions:
        if serving.get(home, False):
            targets[home] = home
            continue
        candidates = [r for r in nearest.get(home, ()) if serving.get(r, False)]
        targets[home] = candidates[0] if candidates else home
    return RouteTable.from_targets(targets)
