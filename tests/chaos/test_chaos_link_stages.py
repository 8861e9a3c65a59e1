"""A link's stages without sockets: live add/remove/update keep every byte in order, toxics
hold or drop as specified, and data that arrives before the link exists is not lost."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

from chaos.sockets import Side
from chaos.stages import Chunk
from chaos.toxic_spec import ToxicSpec
from chaos.toxics import build_stage
from kernel.clock import SystemClock
from tests.waiting import eventually


class Recorder:
    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False

    def feed(self, chunk: Chunk) -> None:
        self.data += chunk.data

    def feed_eof(self) -> None:
        self.eof = True


class FakeLink:
    """The LinkContext a stage sees, with a real clock and a seeded RNG."""

    def __init__(self) -> None:
        self.clock = SystemClock()
        self.rng = random.Random(1)
        self.terminated: list[bool] = []
        self.buffered = 0

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coro)

    def buffer_changed(self, delta: int) -> None:
        self.buffered += delta

    def terminate(self, reset: bool) -> None:
        self.terminated.append(reset)


def spec(type_: str, **attributes: int) -> ToxicSpec:
    return ToxicSpec(f"{type_}_downstream", type_, "downstream", 1.0, attributes)


async def test_removed_latency_forwards_held_and_queued_chunks_in_order() -> None:
    link, sink = FakeLink(), Recorder()
    stage = build_stage(spec("latency", latency=10_000), link)
    stage.next = sink
    for part in (b"a", b"b", b"c"):
        stage.feed(Chunk(part, link.clock.now()))
    stage.feed_eof()
    await eventually(lambda: link.buffered == 2, 'the worker holding "a" in its wait')
    stage.detach(None)
    assert (bytes(sink.data), sink.eof, link.buffered) == (b"abc", True, 0)


async def test_updated_limit_data_keeps_its_counter() -> None:
    link, sink = FakeLink(), Recorder()
    old = build_stage(spec("limit_data", bytes=5), link)
    old.next = sink
    old.feed(Chunk(b"abc", 0.0))
    new = build_stage(spec("limit_data", bytes=6), link, old.state)
    new.next = sink
    old.detach(new)
    new.feed(Chunk(b"defgh", 0.0))
    assert (bytes(sink.data), sink.eof) == (b"abcdef", True)


async def test_timeout_drops_and_removal_closes() -> None:
    link, sink = FakeLink(), Recorder()
    stage = build_stage(spec("timeout", timeout=0), link)
    stage.next = sink
    stage.attach()
    stage.feed(Chunk(b"lost", 0.0))
    assert (bytes(sink.data), sink.eof) == (b"", False)
    stage.detach(None)
    assert sink.eof


async def test_inactive_timeout_passes_data_but_still_closes_on_removal() -> None:
    link, sink = FakeLink(), Recorder()
    stage = build_stage(ToxicSpec("t", "timeout", "downstream", 0.0, {"timeout": 0}), link)
    stage.next = sink
    stage.feed(Chunk(b"kept", 0.0))
    stage.detach(None)
    assert (bytes(sink.data), sink.eof) == (b"kept", True)


async def test_reset_peer_drops_first_chunk_and_resets_after_timeout() -> None:
    link, sink = FakeLink(), Recorder()
    stage = build_stage(spec("reset_peer", timeout=20), link)
    stage.next = sink
    stage.feed(Chunk(b"x", 0.0))
    await eventually(lambda: link.terminated == [True])
    assert sink.data == b""


async def test_slicer_pieces_and_interrupt_forwards_the_rest() -> None:
    link, sink = FakeLink(), Recorder()
    stage = build_stage(spec("slicer", average_size=1, size_variation=0, delay=50_000), link)
    stage.next = sink
    stage.feed(Chunk(b"0123456789", 0.0))
    await eventually(lambda: len(sink.data) >= 2)
    stage.detach(None)
    assert bytes(sink.data) == b"0123456789"


async def test_slow_close_delays_only_the_close() -> None:
    link, sink = FakeLink(), Recorder()
    stage = build_stage(spec("slow_close", delay=10_000), link)
    stage.next = sink
    stage.feed(Chunk(b"now", 0.0))
    stage.feed_eof()
    await eventually(lambda: bytes(sink.data) == b"now", "the data ahead of the close")
    assert (bytes(sink.data), sink.eof) == (b"now", False)
    stage.detach(None)  # removal releases the pending close at once
    assert sink.eof


class FakeOutbound:
    def __init__(self) -> None:
        self.fed: list[bytes] = []
        self.eof = False

    def feed_bytes(self, data: bytes) -> None:
        self.fed.append(data)

    def feed_eof(self) -> None:
        self.eof = True


def test_side_keeps_data_that_arrives_before_its_link() -> None:
    # uvloop starts reading right after connection_made, ignoring pause_reading() there.
    side = Side(lambda _: None)
    side.data_received(b"early")
    side.eof_received()
    outbound = FakeOutbound()
    side.attach(outbound)
    assert (outbound.fed, outbound.eof) == ([b"early"], True)
