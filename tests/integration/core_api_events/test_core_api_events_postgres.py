"""The relay on real PostgreSQL: FOR UPDATE SKIP LOCKED keeps two relays from ever
publishing the same row, and one relay's claimed rows are invisible to the other."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from core_api.outbox import enqueue
from core_api.relay import OutboxRelay
from kernel.bus import InProcessBus, Outgoing
from tests.waiting import eventually


class RecordingBus(InProcessBus):
    """Records every publish call, with no dedupe, so a double publish would show."""

    def __init__(self, log: list[str], gate: asyncio.Event | None = None) -> None:
        super().__init__()
        self.log = log
        self.gate = gate
        self.entered = asyncio.Event()

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        self.log.extend(m.msg_id for m in messages)
        return len(messages)


def write(sessions: sessionmaker[Session], n: int) -> list[str]:
    with sessions() as session:
        ids = [enqueue(session, "iad", "project", "created", {"n": i}).id for i in range(n)]
        session.commit()
    return ids



async def test_a_claimed_batch_is_skipped_by_a_second_relay(
    pg_sessions: sessionmaker[Session],
) -> None:
    ids = write(pg_sessions, 10)
    published_a: list[str] = []
    published_b: list[str] = []
    gate = asyncio.Event()
    bus_a = RecordingBus(published_a, gate)
    relay_a = OutboxRelay(pg_sessions, bus_a, batch_size=5)
    relay_b = OutboxRelay(pg_sessions, RecordingBus(published_b), batch_size=5)

    a = asyncio.create_task(relay_a.run_once())
    await asyncio.wait_for(bus_a.entered.wait(), 10)  # A holds row locks on five, publishing
    assert await relay_b.run_once() == 5
    assert await relay_b.run_once() == 0  # the rest are A's (locked) or B's (published)
    gate.set()
    assert await a == 5
    assert published_a == ids[:5] and published_b == ids[5:]
    assert relay_a.pending_count() == 0
    await relay_a.stop()
    await relay_b.stop()


async def test_two_running_relays_never_publish_a_row_twice(
    pg_sessions: sessionmaker[Session],
) -> None:
    published: list[str] = []
    relays = [OutboxRelay(pg_sessions, RecordingBus(published), batch_size=7, poll_interval=0.02)
              for _ in range(2)]
    for relay in relays:
        await relay.start()
    ids: list[str] = []
    for _ in range(20):
        ids += await asyncio.to_thread(write, pg_sessions, 10)
    await eventually(lambda: len(published) >= len(ids), "all 200 events")
    for relay in relays:
        await relay.stop()
    assert sorted(published) == sorted(ids)  # each exactly once
    assert relays[0].pending_count() == 0
