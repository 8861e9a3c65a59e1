"""One lock per region, taken by runbook runs, game days and database failovers alike (in the
neutral base because all three take it, and they may not import each other).

Why one lock: two automations acting on one region at once (a failover during a game day's
injected partition) make each other's checks lie. The lock has a TTL so a holder that died
cannot block the region forever; a live holder refreshes it by acquiring again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class RegionLock(Protocol):
    async def acquire(self, region: str, holder: str, ttl_s: float) -> bool:
        """Take or refresh the lock; True when ``holder`` holds it afterwards."""
        ...

    async def release(self, region: str, holder: str) -> None:
        """Let go; a no-op unless ``holder`` holds it."""
        ...

    async def holder(self, region: str) -> str | None: ...


class InMemoryRegionLock:
    """The embedded default (one process). Production: a PostgreSQL advisory lock or a
    ``coordination.k8s.io`` Lease behind the same Protocol."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}

    async def acquire(self, region: str, holder: str, ttl_s: float) -> bool:
        current = await self.holder(region)
        if current not in (None, holder):
            return False
        self._held[region] = (holder, self._clock() + ttl_s)
        return True

    async def release(self, region: str, holder: str) -> None:
        if await self.holder(region) == holder:
            del self._held[region]

    async def holder(self, region: str) -> str | None:
        found = self._held.get(region)
        if found is None:
            return None
        if found[1] <= self._clock():
            log.info("region lock of %s held by %s expired", region, found[0])
            del self._held[region]
            return None
        return found[0]
