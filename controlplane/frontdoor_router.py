"""The control plane's side of the front door: the ``Router`` that pushes each route table
to the front door process's loopback admin listener, and the feed that brings the front
door's own 5xx answers (a region down) to the SLO budgets of the region they were for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import httpx

from controlplane.errors import ControlPlaneError
from controlplane.routing import RouteTable
from core_api.contract import REQUESTS_TOTAL
from kernel.exposition import ExpositionError, Sample, parse_exposition

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 1.0


class FrontDoorRouter:
    """``Router``: ``PUT /routes`` on the front door's admin listener. A push that fails
    raises, so the reconciler decides the routes again next pass; a front door that
    restarts pulls the current table from the control-plane API by itself."""

    def __init__(self, admin_url: str, transport: httpx.AsyncBaseTransport | None = None,
                 timeout_s: float = PUSH_TIMEOUT_S) -> None:
        self.admin_url = admin_url
        self._client = httpx.AsyncClient(base_url=admin_url, timeout=timeout_s,
                                         transport=transport)
        self.pushed = 0

    async def apply(self, routes: RouteTable) -> None:
        try:
            response = await self._client.put("/routes", json=routes.as_dict())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ControlPlaneError(f"front door at {self.admin_url} did not take the routes "
                                    f"({exc}); retried next pass") from exc
        self.pushed += 1

    async def aclose(self) -> None:
        await self._client.aclose()


Feed = Callable[[str, Sequence[Sample], float], None]  # (region, samples, at)


class FrontDoorSli:
    """Every ``interval_s``: read the front door's ``http_requests_total`` (only answers it
    made itself, labelled ``source="frontdoor"``) and hand each region's samples to
    ``feed`` (e.g. ``SloBudgetSignals.feed_extra``), so a region's availability SLO counts
    the 503s its users got while it was down — when its own metrics could not be scraped."""

    def __init__(self, metrics_url: str, feed: Feed, clock: Callable[[], float],
                 interval_s: float = 1.0) -> None:
        self._url, self._feed, self._clock = metrics_url, feed, clock
        self._interval_s = interval_s
        self.polls = 0

    async def poll(self, client: httpx.AsyncClient) -> None:
        try:
            response = await client.get(self._url)
            response.raise_for_status()
            samples = parse_exposition(response.text, (REQUESTS_TOTAL,))
        except (httpx.HTTPError, ExpositionError) as exc:
            log.debug("front door metrics not read: %s", exc)
            return
        by_region: dict[str, list[Sample]] = {}
        for sample in samples:
            by_region.setdefault(sample.labels.get("region", ""), []).append(sample)
        now = self._clock()
        for region, rows in by_region.items():
            if region:
                self._feed(region, rows, now)
        self.polls += 1

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            while not stop.is_set():
                await self.poll(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._interval_s)
