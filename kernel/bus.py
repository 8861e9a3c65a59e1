"""The event bus seam: one small Protocol, an in-process default and NATS JetStream.

Subjects look like ``covenant.<region>.<entity>.<verb>`` (the core API's events) and
``covenant.controlplane.<...>`` (control plane). Both backends match NATS wildcards
(``*`` one token, ``>`` the rest) and drop a message whose ``msg_id`` was already seen
within the duplicate window, which is what makes a relay's redelivery exactly-once.

Choose one with :func:`kernel.buses.build_bus` from the settings: ``nats_url`` unset gives
the in-process bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.errors import KernelError

log = logging.getLogger(__name__)

DEFAULT_STREAM = "COVENANT"
DEFAULT_DUPLICATE_WINDOW_S = 120.0  # JetStream's default duplicate window is two minutes.


class BusError(KernelError):
    """The bus could not publish or subscribe; the message says what and how to fix it."""


@dataclass(frozen=True)
class Event:
    """One message as handlers see it (subject without any test prefix)."""

    subject: str
    data: bytes
    msg_id: str


@dataclass(frozen=True)
class Outgoing:
    """One message to publish; ``msg_id`` is the dedupe key (the outbox row id)."""

    subject: str
    data: bytes
    msg_id: str


Handler = Callable[[Event], Awaitable[None]]


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """Publish one message; raise :class:`BusError` when it was not confirmed."""

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        """Publish in order; return how many leading messages were confirmed.

        Messages after the first unconfirmed one may or may not have arrived; the
        caller republishes them and the msg_id dedupe drops the copies.
        """

    async def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> Subscription:
        """Call ``handler`` for every message matching ``subject_pattern``."""

    async def close(self) -> None: ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS matching: ``*`` is exactly one token, a final ``>`` is one or more tokens."""
    p_tokens = pattern.split(".")
    s_tokens = subject.split(".")
    for i, p in enumerate(p_tokens):
        if p == ">":
            return i == len(p_tokens) - 1 and len(s_tokens) > i
        if i >= len(s_tokens) or (p != "*" and p != s_tokens[i]):
            return False
    return len(p_tokens) == len(s_tokens)


class DedupeWindow:
    """Remembers msg_ids for ``window_s`` seconds, like JetStream's duplicate window."""

    def __init__(self, window_s: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self._window_s = window_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, msg_id: str) -> bool:
        """True (and remember it) unless ``msg_id`` was seen within the window."""
        now = self._clock.now()
        while self._seen:
            oldest_id, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self._window_s:
                break
            del self._seen[oldest_id]
        if msg_id in self._seen:
            return False
        self._seen[msg_id] = now
        return True


@dataclass
class _LocalSubscription:
    bus: InProcessBus
    pattern: str
    handler: Handler
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    async def unsubscribe(self) -> None:
        self.bus._subscriptions.discard(self)  # noqa: SLF001 - same module
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.handler(event)
            except Exception:  # a handler bug must not stop later deliveries
                log.exception("handler for %s failed on %s", self.pattern, event.subject)
            finally:
                self.queue.task_done()

    def __hash__(self) -> int:
        return id(self)


class InProcessBus:
    """The embedded default: fan-out inside one process, in publish order per subscriber.

    Each subscriber has its own queue and task, so a slow handler never blocks publishers.
    ``durable`` is accepted for interface parity; nothing outlives the process.
    """

    def __init__(
        self,
        duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._dedupe = DedupeWindow(duplicate_window_s, clock)
        self._subscriptions: set[_LocalSubscription] = set()
        self.published = 0
        self.duplicates = 0

    async def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        if not self._dedupe.first_time(msg_id):
            self.duplicates += 1
            return
        self.published += 1
        event = Event(subject=subject, data=data, msg_id=msg_id)
        for sub in list(self._subscriptions):
            if subject_matches(sub.pattern, subject):
                sub.queue.put_nowait(event)

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        for msg in messages:
            await self.publish(msg.subject, msg.data, msg.msg_id)
        return len(messages)

    async def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> Subscription:
        sub = _LocalSubscription(bus=self, pattern=subject_pattern, handler=handler)
        sub.task = asyncio.get_running_loop().create_task(sub.run())
        self._subscriptions.add(sub)
        return sub

    async def drain(self) -> None:
        """Wait until every subscriber has handled everything published so far."""
        for sub in list(self._subscriptions):
            await sub.queue.join()

    async def close(self) -> None:
        for sub in list(self._subscriptions):
            await sub.unsubscribe()
