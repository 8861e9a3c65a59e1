"""One toxic acting on one link (a connection in one direction): the stream side of spec 1.7.3.

A stage receives chunks with ``feed`` and passes them to ``next`` (another stage or the sink
that writes to the socket). Synchronous stages forward inside ``feed``; queued stages run a
task. ``detach`` takes a stage out of its link without losing data: whatever it holds goes
on at once (the chunk in flight skips its remaining delay) — except where the toxic's job is
to drop data or close the connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from chaos import toxic_math
from chaos.toxic_spec import ToxicSpec
from kernel.clock import Clock


@dataclass(slots=True)
class Chunk:
    data: bytes
    stamp: float  # when the proxy read it: latency is measured from here, not from dequeue


class Receiver(Protocol):
    def feed(self, chunk: Chunk) -> None: ...

    def feed_eof(self) -> None: ...


class LinkContext(Protocol):
    """What a stage needs from its link."""

    clock: Clock
    rng: toxic_math.Rng

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]: ...

    def buffer_changed(self, delta: int) -> None: ...

    def terminate(self, reset: bool) -> None: ...


@dataclass
class LimitState:
    """limit_data's counter: created when the toxic attaches to a link, kept across updates."""

    sent: int = 0
    closed: bool = False


class Stage:
    """A pass-through stage: ``noop``, and any toxic whose toxicity draw said "not this link"."""

    def __init__(self, spec: ToxicSpec, link: LinkContext, active: bool, state: LimitState) -> None:
        self.spec = spec
        self.link = link
        self.active = active
        self.state = state
        self.next: Receiver

    def attach(self) -> None:
        """Called once wired; stages with timers start them here."""

    def feed(self, chunk: Chunk) -> None:
        self.next.feed(chunk)

    def feed_eof(self) -> None:
        self.next.feed_eof()

    def detach(self, successor: Receiver | None) -> None:
        """Leave the link. ``successor`` is the replacing stage on an update, None on removal."""


class QueuedStage(Stage):
    """A stage with its own task and queue, for toxics that wait (latency, bandwidth, slicer)."""

    def __init__(self, spec: ToxicSpec, link: LinkContext, active: bool, state: LimitState) -> None:
        super().__init__(spec, link, active, state)
        self._items: deque[Chunk | None] = deque()
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def feed(self, chunk: Chunk) -> None:
        self._items.append(chunk)
        self.link.buffer_changed(len(chunk.data))
        self._kick()

    def feed_eof(self) -> None:
        self._items.append(None)
        self._kick()

    def _kick(self) -> None:
        if self._task is None:
            self._task = self.link.spawn(self._run())
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _run(self) -> None:
        while True:
            if not self._items:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                continue
            item = self._items.popleft()
            if item is None:
                self.next.feed_eof()
                return
            self.link.buffer_changed(-len(item.data))
            await self.process(item)

    async def process(self, chunk: Chunk) -> None:
        self.next.feed(chunk)

    def held(self) -> list[Chunk]:
        """The unsent part of the chunk being processed (subclasses know where they are)."""
        return []

    def detach(self, successor: Receiver | None) -> None:
        if self._task is not None:
            self._task.cancel()
        for chunk in self.held():
            self.next.feed(chunk)
        target = successor if successor is not None else self.next
        while self._items:
            item = self._items.popleft()
            if item is None:
                target.feed_eof()
            else:
                self.link.buffer_changed(-len(item.data))
                target.feed(item)
