"""One region's event pipeline: the bus, the outbox relay and the cache invalidator.

``create_app`` builds it with :func:`build_event_pipeline`, starts it on startup and
stops it on shutdown; ``/metrics`` reads the same backlog (``outbox.count_pending``). Sessions
from the given ``sessionmaker`` wake the relay when they commit outbox rows (a SQLAlchemy
``after_commit`` hook), so calling :meth:`EventPipeline.notify` is optional.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from core_api.cache import Cache, build_cache
from core_api.cache_invalidator import CacheInvalidator
from core_api.outbox import PENDING_FLAG
from core_api.relay import OutboxRelay, RelayStats, SessionFactory
from core_api.relay_policy import BackoffPolicy
from kernel.bus import BusError, EventBus
from kernel.buses import build_bus

if TYPE_CHECKING:
    from kernel.settings import Settings

log = logging.getLogger(__name__)


class EventPipeline:
    def __init__(
        self,
        region: str,
        bus: EventBus,
        relay: OutboxRelay,
        session_factory: SessionFactory,
        invalidator: CacheInvalidator | None = None,
        retry: BackoffPolicy | None = None,
    ) -> None:
        self.region = region
        self.bus = bus
        self.relay = relay
        self.invalidator = invalidator
        self._session_factory = session_factory
        self._retry = retry or BackoffPolicy(base_s=0.5, cap_s=10.0)
        self._subscribe_task: asyncio.Task[None] | None = None
        self._hooked = False

    async def start(self) -> None:
        self._install_commit_hook()
        await self.relay.start()
        if self.invalidator is not None:
            # NATS may be down at startup: keep serving and subscribe once it is back.
            self._subscribe_task = asyncio.get_running_loop().create_task(
                self._subscribe_invalidator(), name=f"cache-invalidator-{self.region}"
            )

    async def stop(self) -> None:
        if self._subscribe_task is not None:
            self._subscribe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._subscribe_task
            self._subscribe_task = None
        if self.invalidator is not None:
            await self.invalidator.stop()
        await self.relay.stop()
        await self.bus.close()
        self._remove_commit_hook()

    def notify(self) -> None:
        """Wake the relay now; thread-safe."""
        self.relay.notify()

    def pending_count(self) -> int:
        """Committed events not yet published."""
        return self.relay.pending_count()

    @property
    def stats(self) -> RelayStats:
        return self.relay.stats

    async def _subscribe_invalidator(self) -> None:
        assert self.invalidator is not None
        failures = 0
        while True:
            try:
                await self.invalidator.start(self.bus)
                return
            except BusError as exc:
                failures += 1
                delay = self._retry.delay(failures)
                log.warning("cache invalidator not subscribed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    # The hook: wake the relay after a commit that enqueued events, forget after rollback.
    def _after_commit(self, session: Session) -> None:
        if session.info.pop(PENDING_FLAG, False):
            self.relay.notify()

    @staticmethod
    def _after_rollback(session: Session, previous_transaction: object) -> None:
        session.info.pop(PENDING_FLAG, None)

    def _install_commit_hook(self) -> None:
        target = self._session_factory
        if isinstance(target, sessionmaker) and not self._hooked:
            sa_event.listen(target, "after_commit", self._after_commit)
            sa_event.listen(target, "after_soft_rollback", self._after_rollback)
            self._hooked = True

    def _remove_commit_hook(self) -> None:
        target = self._session_factory
        if isinstance(target, sessionmaker) and self._hooked:
            sa_event.remove(target, "after_commit", self._after_commit)
            sa_event.remove(target, "after_soft_rollback", self._after_rollback)
            self._hooked = False


def build_event_pipeline(
    settings: Settings, region: str, session_factory: SessionFactory, cache: Cache | None = None
) -> EventPipeline:
    """The bus chosen by ``nats_url``, a relay over ``region``'s rows of the outbox and,
    when ``redis_url`` is set, the invalidator of this region's cache (``cache``: the app's
    own, so one Redis client serves both; else one is built)."""
    bus = build_bus(settings.bus)
    relay = OutboxRelay(session_factory, bus, region=region)  # regions may share one DB
    invalidator = (
        CacheInvalidator(cache or build_cache(settings, region), region)
        if settings.redis_url else None
    )
    return EventPipeline(region, bus, relay, session_factory, invalidator)
