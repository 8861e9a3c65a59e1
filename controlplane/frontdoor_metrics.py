"""The front door's counters: plain dicts bumped per request (no client-library objects on
the hot path) and a pure rendering to the Prometheus text format.

Besides its own ``covenant_frontdoor_*`` series, the front door exposes the answers it makes
*itself* on behalf of a home region (a 503 for a region that is down, a 502 for a broken
write) as ``http_requests_total{region, route, method, status, source="frontdoor"}`` — the
core API's own metric and labels — so the home region's availability SLO
(``http_requests_total{region="syd"}``, errors ``status=~"5.."``) counts the requests its
users could not get served while it was away. Answers relayed from a region are counted by
that region and never here: nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core_api.contract import REQUESTS_TOTAL

SOURCE = "frontdoor"


@dataclass
class FrontDoorMetrics:
    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    retries: dict[tuple[str, str], int] = field(default_factory=dict)
    unavailable: dict[tuple[str, str], int] = field(default_factory=dict)
    own: dict[tuple[str, str, str, int], int] = field(default_factory=dict)
    route_updates: int = 0

    def served(self, home: str, region: str, status: int) -> None:
        key = (home, region, status)
        self.requests[key] = self.requests.get(key, 0) + 1

    def retried(self, home: str, reason: str) -> None:
        key = (home, reason)
        self.retries[key] = self.retries.get(key, 0) + 1

    def answered(self, home: str, route: str, method: str, status: int, why: str) -> None:
        """An answer the front door made itself for ``home`` (``why`` labels the refusals)."""
        self.served(home, "none", status)
        key = (home, route, method, status)
        self.own[key] = self.own.get(key, 0) + 1
        if status == 503:
            reason = (home, why)
            self.unavailable[reason] = self.unavailable.get(reason, 0) + 1

    def render(self) -> bytes:
        return render(self)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _series(name: str, labels: Iterable[str], rows: Mapping[Any, int],
            extra: str = "") -> list[str]:
    names = tuple(labels)
    out = []
    for key, value in sorted(rows.items(), key=lambda kv: tuple(map(str, kv[0]))):
        pairs = ",".join(f'{n}="{_escape(str(v))}"' for n, v in zip(names, key, strict=True))
        out.append(f"{name}{{{pairs}{extra}}} {value}")
    return out


def render(m: FrontDoorMetrics) -> bytes:
    """Prometheus text exposition (0.0.4) of every counter."""
    lines = [
        "# HELP covenant_frontdoor_requests_total Requests through the front door by home, "
        "serving region (none: answered by the front door) and status.",
        "# TYPE covenant_frontdoor_requests_total counter",
        *_series("covenant_frontdoor_requests_total", ("home", "served", "status"), m.requests),
        "# HELP covenant_frontdoor_retries_total Attempts retried, by home and reason.",
        "# TYPE covenant_frontdoor_retries_total counter",
        *_series("covenant_frontdoor_retries_total", ("home", "reason"), m.retries),
        "# HELP covenant_frontdoor_unavailable_total Requests answered 503 by the front door "
        "because their home region was down or unreachable.",
        "# TYPE covenant_frontdoor_unavailable_total counter",
        *_series("covenant_frontdoor_unavailable_total", ("home", "reason"), m.unavailable),
        "# HELP covenant_frontdoor_route_updates_total Route tables received.",
        "# TYPE covenant_frontdoor_route_updates_total counter",
        f"covenant_frontdoor_route_updates_total {m.route_updates}",
        f"# HELP {REQUESTS_TOTAL} Answers the front door made itself for a home region, in the "
        "core API's labels (the region's availability SLO counts them).",
        f"# TYPE {REQUESTS_TOTAL} counter",
        *_series(REQUESTS_TOTAL, ("region", "route", "method", "status"), m.own,
                 f',source="{SOURCE}"'),
    ]
    return ("\n".join(lines) + "\n").encode()
