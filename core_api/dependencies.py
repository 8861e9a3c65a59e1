"""Whether the region's optional dependencies answer: its Redis (PING) and its NATS
(connected, the JetStream stream in place).

A background task checks both about every second and keeps the last answers in a
:class:`DependencyStatus`; ``/metrics`` exports them (``contract.CACHE_UP``,
``contract.EVENT_BUS_UP``) without waiting on either, so a hung Redis never slows a scrape.
A dependency that is not configured has no answer (None) and no gauge: the in-process default
(no Redis, in-process bus) never reads as a region that lost them. The supervisor's
``cache_down`` and ``bus_down`` verdicts are read from these gauges.

Why the connection and not the outbox relay's failures: the relay only touches the bus when
events wait, and once failing it backs off (up to 30 s), so its last error lags the bus both
ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core_api import contract

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0


@dataclass
class DependencyStatus:
    """The last answers; None while a dependency is not configured (or not checked yet)."""

    cache_up: bool | None = None
    bus_up: bool | None = None


@runtime_checkable
class Pingable(Protocol):
    """A bus that can say whether a publish would go out now (``kernel.nats_bus.NatsBus``;
    the in-process bus always would, and has nothing to say)."""

    async def ping(self) -> bool: ...


def gauges(region: str, status: DependencyStatus) -> list[Metric]:
    """The gauges of the answers known (pure)."""
    out: list[Metric] = []
    for name, doc, up in (
            (contract.CACHE_UP, "1 when the region's Redis answers PING.", status.cache_up),
            (contract.EVENT_BUS_UP, "1 when the region's NATS is connected and its JetStream "
             "stream is in place.", status.bus_up)):
        if up is None:
            continue
        gauge = GaugeMetricFamily(name, doc, labels=("region",))
        gauge.add_metric((region,), 1.0 if up else 0.0)
        out.append(gauge)
    return out


class DependencyCollector(Collector):
    """Exports what the watch last saw, at scrape time (reads two fields, never waits)."""

    def __init__(self, region: str, status: DependencyStatus) -> None:
        self._region = region
        self._status = status

    def collect(self) -> Iterator[Metric]:
        yield from gauges(self._region, self._status)


class DependencyWatch:
    """Checks the cache and the bus every ``every_s`` seconds into ``status``.

    ``cache_ping`` is blocking (run in a thread); ``bus`` is asked only when it is
    :class:`Pingable`. Both are checked at once, so a NATS connect that takes its full
    timeout does not hold back the Redis answer."""

    def __init__(self, status: DependencyStatus, cache_ping: Callable[[], bool] | None,
                 bus: object, every_s: float = CHECK_EVERY_S) -> None:
        self.status = status
        self._cache_ping = cache_ping
        self._bus_ping: Callable[[], Awaitable[bool]] | None = \
            bus.ping if isinstance(bus, Pingable) else None
        self._every_s = every_s
        self._task: asyncio.Task[None] | None = None

    @property
    def watching(self) -> bool:
        return self._cache_ping is not None or self._bus_ping is not None

    async def check(self) -> None:
        await asyncio.gather(self._check_cache(), self._check_bus())

    async def _check_cache(self) -> None:
        if self._cache_ping is not None:
            self.status.cache_up = await asyncio.to_thread(self._cache_ping)

    async def _check_bus(self) -> None:
        if self._bus_ping is not None:
            self.status.bus_up = await self._bus_ping()

    async def start(self) -> None:
        if self.watching and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="dependency-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a check that broke is tried again, not fatal
                log.exception("dependency check failed; retrying in %g s", self._every_s)
            await asyncio.sleep(self._every_s)
