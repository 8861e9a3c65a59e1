"""One proxied TCP connection: the two sockets and the two links between them (spec 1.7.1-1.7.2).

Without toxics a link writes what it reads straight to the other socket (the fast path the
benchmark measures). With toxics, reads are stamped, cut into chunks of at most 32 KiB and
pushed through the link's stages. EOF or an error on either side flushes that direction and
then fully closes the other socket — Go's no-half-close model, which tears the whole
connection down once in-flight data is delivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from chaos import toxic_math
from chaos.address import parse_upstream
from chaos.errors import ApiError
from chaos.sockets import Side, Sink
from chaos.stages import Chunk, Receiver, Stage
from chaos.toxic_spec import DOWNSTREAM, UPSTREAM, ToxicSpec
from chaos.toxics import build_stage
from kernel.clock import Clock

log = logging.getLogger(__name__)

HIGH_WATER = 8 * 1024 * 1024  # bytes queued inside a link's stages before reading pauses
LOW_WATER = HIGH_WATER // 2


class Link:
    """One direction of one connection: source socket → stages → sink."""

    def __init__(self, conn: Connection, source: Side, dest: Side) -> None:
        self.conn = conn
        self.clock: Clock = conn.clock
        self.rng: toxic_math.Rng = conn.rng
        self.source = source
        self.sink = Sink(dest)
        self.stages: list[Stage] = []
        self.head: Receiver = self.sink
        self._eof = False
        self._buffered = 0

    def feed_bytes(self, data: bytes) -> None:
        if self.head is self.sink:
            self.sink.side.write(data)
            return
        stamp = self.clock.now()
        for piece in toxic_math.split_chunks(data):
            self.head.feed(Chunk(piece, stamp))

    def feed_eof(self) -> None:
        if not self._eof:
            self._eof = True
            self.head.feed_eof()

    # LinkContext for the stages
    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self.conn.spawn(coro)

    def buffer_changed(self, delta: int) -> None:
        self._buffered += delta
        if self._buffered > HIGH_WATER:
            self.source.pause("buffer")
        elif self._buffered < LOW_WATER:
            self.source.resume("buffer")

    def terminate(self, reset: bool) -> None:
        self.conn.terminate(reset)

    # Live toxic changes (spec 1.7.2: they apply to existing connections too)
    def add(self, spec: ToxicSpec) -> None:
        stage = build_stage(spec, self)
        stage.next = self.sink
        if self.stages:
            self.stages[-1].next = stage
        else:
            self.head = stage
        self.stages.append(stage)
        stage.attach()

    def remove(self, name: str) -> None:
        index = self._index(name)
        if index is None:
            return
        stage = self.stages.pop(index)
        self._rewire(index, stage.next)
        stage.detach(None)

    def replace(self, spec: ToxicSpec) -> None:
        index = self._index(spec.name)
        if index is None:
            return
        old = self.stages[index]
        new = build_stage(spec, self, old.state)
        new.next = old.next
        self.stages[index] = new
        self._rewire(index, new)
        old.detach(new)
        new.attach()

    def _index(self, name: str) -> int | None:
        for index, stage in enumerate(self.stages):
            if stage.spec.name == name:
                return index
        return None

    def _rewire(self, index: int, target: Receiver) -> None:
        if index == 0:
            self.head = target
        else:
            self.stages[index - 1].next = target


class Connection:
    """A client socket, the upstream socket dialled for it, and the links between them."""

    def __init__(
        self,
        upstream: str,
        chains: Callable[[], dict[str, list[ToxicSpec]]],
        clock: Clock,
        rng: toxic_math.Rng,
        forget: Callable[[Connection], None],
    ) -> None:
        self.upstream_address = upstream
        self.clock = clock
        self.rng = rng
        self._chains = chains
        self._forget = forget
        self._tasks: set[asyncio.Task[None]] = set()
        self.client = Side(self._side_lost, on_made=self.start)
        self.server = Side(self._side_lost)
        self.client.peer, self.server.peer = self.server, self.client
        self.links: dict[str, Link] = {}
        self.closed = False

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("toxic task failed; closing the connection", exc_info=task.exception())
            self.close()

    def start(self) -> None:
        """Called when the client is accepted: hold its input until upstream is dialled."""
        if self.closed:  # its proxy stopped between the accept and connection_made
            self.client.close()
            return
        self.client.pause("dial")
        self.spawn(self._dial())

    async def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = parse_upstream(self.upstream_address)
            await loop.create_connection(lambda: self.server, host, port)
        except (OSError, ApiError, ValueError, OverflowError) as exc:
            log.info("upstream %s unreachable: %s; closing the client", self.upstream_address, exc)
            self.client.close()  # spec 1.7.1: the client reads EOF at once
            self._shutdown()
            return
        if self.closed or self.client.lost:
            self.server.close()
            self.client.close()  # a no-op once lost or closed; never leave it paused, open
            return
        self._build_links()
        self.client.resume("dial")

    def _build_links(self) -> None:
        chains = self._chains()
        up = Link(self, self.client, self.server)
        down = Link(self, self.server, self.client)
        for spec in chains[UPSTREAM]:
            up.add(spec)
        for spec in chains[DOWNSTREAM]:
            down.add(spec)
        if any(s.type == "reset_peer" for chain in chains.values() for s in chain):
            # Only connections accepted while a reset_peer exists get RST on close (spec 1.7.3).
            self.client.set_linger_zero()
            self.server.set_linger_zero()
        self.links = {UPSTREAM: up, DOWNSTREAM: down}
        self.client.attach(up)
        self.server.attach(down)

    def _side_lost(self, side: Side) -> None:
        # While upstream is still being dialled, _dial sees client.lost and cleans up.
        if side.peer is not None and side.peer.lost:
            self._shutdown()

    def close(self) -> None:
        """Proxy stop: close both sockets now; data inside toxics is discarded."""
        self._shutdown()
        self.client.close()
        self.server.close()

    def terminate(self, reset: bool) -> None:
        """reset_peer: close both sockets at once (RST where SO_LINGER 0 was set)."""
        self._shutdown()
        self.client.abort()
        self.server.abort()

    def _shutdown(self) -> None:
        """Once: stop every toxic task (the caller's own included: it ends as cancelled);
        always: drop the connection from its proxy."""
        if not self.closed:
            self.closed = True
            for task in list(self._tasks):
                task.cancel()
        self._forget(self)
