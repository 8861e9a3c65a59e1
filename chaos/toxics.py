"""The concrete toxics as stages (spec 1.7.3): what each one does to a link's chunks."""

from __future__ import annotations

import asyncio

from chaos import toxic_math
from chaos.stages import Chunk, LimitState, LinkContext, QueuedStage, Receiver, Stage
from chaos.toxic_spec import ToxicSpec


class LatencyStage(QueuedStage):
    _current: Chunk | None = None

    async def process(self, chunk: Chunk) -> None:
        self._current = chunk
        delay = toxic_math.latency_delay_ms(
            self.spec.attr("latency"), self.spec.attr("jitter"), self.link.rng
        )
        release = chunk.stamp + delay / 1000
        wait = release - self.link.clock.now()
        if wait > 0:
            await self.link.clock.sleep(wait)
        self._current = None
        # Re-stamped at its release time, so a second latency toxic adds up (spec 1.7.3).
        self.next.feed(Chunk(chunk.data, release))

    def held(self) -> list[Chunk]:
        return [self._current] if self._current is not None else []


class BandwidthStage(QueuedStage):
    _rest: Chunk | None = None

    async def process(self, chunk: Chunk) -> None:
        rate = self.spec.attr("rate")
        self._rest = chunk
        if rate <= 0:
            # Go never finishes a chunk at rate 0: data stalls until the toxic goes (spec 1.7.3).
            await asyncio.get_running_loop().create_future()
        pacer = toxic_math.Pacer(rate)
        data = chunk.data
        for size in toxic_math.bandwidth_pieces(len(data), rate):
            self._rest = Chunk(data, chunk.stamp)
            started = self.link.clock.now()
            await self.link.clock.sleep(pacer.charge(size))
            pacer.settle(self.link.clock.now() - started)
            piece, data = data[:size], data[size:]
            self._rest = None
            self.next.feed(Chunk(piece, chunk.stamp))

    def held(self) -> list[Chunk]:
        return [self._rest] if self._rest is not None else []


class SlicerStage(QueuedStage):
    _data: bytes = b""
    _offset: int = 0
    _stamp: float = 0.0

    async def process(self, chunk: Chunk) -> None:
        spec = self.spec
        sizes = toxic_math.slice_sizes(
            len(chunk.data), spec.attr("average_size"), spec.attr("size_variation"), self.link.rng
        )
        self._data, self._offset, self._stamp = chunk.data, 0, chunk.stamp
        view = memoryview(chunk.data)
        delay = spec.attr("delay") / 1_000_000  # microseconds
        for size in sizes:
            piece = bytes(view[self._offset : self._offset + size])
            self._offset += size
            self.next.feed(Chunk(piece, chunk.stamp))
            if delay > 0:
                await self.link.clock.sleep(delay)
        self._data = b""

    def held(self) -> list[Chunk]:
        if self._offset < len(self._data):
            return [Chunk(self._data[self._offset :], self._stamp)]
        return []


class SlowCloseStage(Stage):
    """Data passes at once; only the close waits ``delay`` ms (released early on removal)."""

    _pending: asyncio.Task[None] | None = None

    def feed_eof(self) -> None:
        if self._pending is None:
            self._pending = self.link.spawn(self._close_later())

    async def _close_later(self) -> None:
        await self.link.clock.sleep(self.spec.attr("delay") / 1000)
        self.next.feed_eof()

    def detach(self, successor: Receiver | None) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
            self.next.feed_eof()


class TimeoutStage(Stage):
    """Drops every chunk; closes the link after ``timeout`` ms without input (0: never).
    Removing it closes the link even where toxicity made it a no-op (Go's Cleanup)."""

    _closed = False
    _deadline = 0.0
    _timer: asyncio.Task[None] | None = None

    def attach(self) -> None:
        if self.active:
            self._rearm()

    def feed(self, chunk: Chunk) -> None:
        if not self.active:
            self.next.feed(chunk)
        elif not self._closed:
            self._rearm()

    def feed_eof(self) -> None:
        self._close()

    def _rearm(self) -> None:
        timeout = self.spec.attr("timeout")
        if timeout <= 0:
            return
        self._deadline = self.link.clock.now() + timeout / 1000
        if self._timer is None or self._timer.done():
            self._timer = self.link.spawn(self._watch())

    async def _watch(self) -> None:
        clock = self.link.clock
        while (left := self._deadline - clock.now()) > 0:
            await clock.sleep(left)
        self._close()

    def _close(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        if not self._closed:
            self._closed = True
            self.next.feed_eof()

    def detach(self, successor: Receiver | None) -> None:
        if successor is None:
            self._close()
        elif self._timer is not None:
            self._timer.cancel()


class ResetPeerStage(Stage):
    """On the first chunk or EOF: drop it, wait ``timeout`` ms, then reset the connection."""

    _triggered = False

    def feed(self, chunk: Chunk) -> None:
        if not self.active:
            self.next.feed(chunk)
        else:
            self._trigger()

    def feed_eof(self) -> None:
        if not self.active:
            self.next.feed_eof()
        else:
            self._trigger()

    def _trigger(self) -> None:
        if not self._triggered:
            self._triggered = True
            self.link.spawn(self._reset_later())

    async def _reset_later(self) -> None:
        # Like Go's uninterruptible sleep: once triggered, removal does not cancel the reset.
        await self.link.clock.sleep(self.spec.attr("timeout") / 1000)
        self.link.terminate(reset=True)


class LimitDataStage(Stage):
    """Forwards exactly ``bytes`` bytes in total on this link, then closes it."""

    def feed(self, chunk: Chunk) -> None:
        state = self.state
        if not self.active:
            self.next.feed(chunk)
            return
        if state.closed:
            return
        room = self.spec.attr("bytes") - state.sent
        if len(chunk.data) < room:
            state.sent += len(chunk.data)
            self.next.feed(chunk)
            return
        if room > 0:
            state.sent += room
            self.next.feed(Chunk(chunk.data[:room], chunk.stamp))
        state.closed = True
        self.next.feed_eof()

    def feed_eof(self) -> None:
        if not self.state.closed:
            self.state.closed = True
            self.next.feed_eof()


STAGES: dict[str, type[Stage]] = {
    "latency": LatencyStage,
    "bandwidth": BandwidthStage,
    "slicer": SlicerStage,
    "slow_close": SlowCloseStage,
    "timeout": TimeoutStage,
    "reset_peer": ResetPeerStage,
    "limit_data": LimitDataStage,
    "noop": Stage,
}

# Toxics whose inactive (toxicity-missed) form still needs their own class.
_ALWAYS_OWN_CLASS = {"timeout", "reset_peer", "limit_data"}


def build_stage(spec: ToxicSpec, link: LinkContext, state: LimitState | None = None) -> Stage:
    """A stage for ``spec`` on one link, with its own toxicity draw."""
    active = toxic_math.toxic_applies(spec.toxicity, link.rng)
    cls = STAGES[spec.type] if active or spec.type in _ALWAYS_OWN_CLASS else Stage
    return cls(spec, link, active, state if state is not None else LimitState())
