"""The consumer that keeps the Redis cache honest: every event of this region drops the
cache entries it makes stale (see :func:`core_api.cache.affected_prefixes`).

It is a durable consumer (``cache-invalidator-<region>``) on JetStream, so an
invalidation missed while the API was down is applied when it comes back. A Redis error
makes the handler fail, and JetStream redelivers the event.
"""

from __future__ import annotations

import asyncio
import logging

from core_api.cache import Cache, affected_prefixes
from kernel.bus import Event, EventBus, Subscription

log = logging.getLogger(__name__)


class CacheInvalidator:
    def __init__(self, cache: Cache, region: str) -> None:
        self._cache = cache
        self._region = region
        self._subscription: Subscription | None = None
        self.invalidated = 0
        self.events_seen = 0

    @property
    def subject_pattern(self) -> str:
        return f"covenant.{self._region}.>"

    @property
    def durable(self) -> str:
        return f"cache-invalidator-{self._region}"

    async def handle(self, event: Event) -> None:
        self.events_seen += 1
        prefixes = affected_prefixes(event.subject, self._region)
        if not prefixes:
            return
        # redis-py is synchronous; keep the event loop free while it runs.
        self.invalidated += await asyncio.to_thread(self._cache.invalidate, prefixes)

    async def start(self, bus: EventBus) -> None:
        self._subscription = await bus.subscribe(
            self.subject_pattern, self.handle, durable=self.durable
        )

    @property
    def started(self) -> bool:
        return self._subscription is not None

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
