"""What every connection of one front door process shares: the topology, the route table
the control plane pushed, the upstream pool, the counters, and background tasks; and the
request as the relay reads it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlplane.frontdoor_metrics import FrontDoorMetrics
from controlplane.frontdoor_routing import Topology
from controlplane.frontdoor_tracing import RelayTracer
from controlplane.frontdoor_upstream import Pool
from controlplane.frontdoor_wire import stamp

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Request:
    """One request as read from a client: what routing and relaying need of it."""

    method: str
    target: bytes
    path: str
    query: str
    headers: list[bytes]  # end-to-end header lines, as received
    body: bytes
    keep_alive: bool
    region_header: str
    country_header: str
    keyed: bool  # carries an Idempotency-Key
    wire: bytes = b""  # as relayed (built once, reused by retries)
    traceparent: str = ""  # the client's, when tracing is on (then not among ``headers``)
    trace: bytes = b""  # the traceparent header line relayed (tracing on: names our span)


@dataclass
class Door:
    topo: Topology
    pool: Pool
    metrics: FrontDoorMetrics = field(default_factory=FrontDoorMetrics)
    routed: dict[str, str] | None = None  # home -> region taking its traffic; None: no table
    retry_after_s: int = 5
    max_body_bytes: int = 1_048_576
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    clients: set[Any] = field(default_factory=set)  # open client connections (idle sweep)
    client_idle_s: float = 75.0
    tracing: RelayTracer | None = None  # None: tracing off, nothing done per request
    _stamps: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def stamp(self, home: str, served: str) -> bytes:
        key = (home, served)
        cached = self._stamps.get(key)
        if cached is None:
            cached = self._stamps[key] = stamp(home, served)
        return cached

    def set_routes(self, table: Mapping[str, Mapping[str, int]]) -> None:
        """Take a route table as ``/v1/routes`` shows it (``{home: {region: weight}}``)."""
        self.routed = targets_of(table, self.topo.regions)
        self.metrics.route_updates += 1
        moved = {h: t for h, t in self.routed.items() if h != t}
        log.info("routes updated: %s", moved or "every home serves itself")

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("front door task failed", exc_info=task.exception())


def targets_of(table: Mapping[str, Mapping[str, int]], regions: tuple[str, ...]
               ) -> dict[str, str]:
    """Each home's region with the largest weight; a home the table omits serves itself."""
    out = {r: r for r in regions}
    for home, weights in table.items():
        known = [(region, w) for region, w in weights.items() if region in out]
        if home in out and known:
            out[home] = max(known, key=lambda w: w[1])[0]
    return out
