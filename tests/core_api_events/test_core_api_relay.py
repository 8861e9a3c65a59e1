"""The outbox relay on SQLite with the in-process bus: the pure backoff decisions, and
exactly one event per committed change, none for a rolled-back one, retry while down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from core_api.db import Base
from core_api.events import EventPipeline
from core_api.outbox import OutboxEvent, enqueue
from core_api.relay import OutboxRelay
from core_api.relay_policy import BackoffPolicy, next_wait, prune_due
from kernel.bus import BusError, Event, InProcessBus, Outgoing
from kernel.clock import FakeClock
from tests.waiting import eventually


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.0), (1, 0.2), (2, 0.4), (3, 0.8), (8, 25.6), (9, 30.0), (50, 30.0)],
)
def test_backoff_doubles_up_to_the_cap(failures: int, expected: float) -> None:
    assert BackoffPolicy(base_s=0.2, factor=2.0, cap_s=30.0).delay(failures) == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("published", "failures", "expected"),
    [
        (0, 0, 0.5),  # idle: sleep until notified or the poll interval
        (7, 0, 0.5),  # a partial batch drained everything
        (10, 0, 0.0),  # a full batch: more are probably waiting
        (10, 2, 2.0),  # failing wins over a full batch
        (0, 1, 1.0),
    ],
)
def test_next_wait(published: int, failures: int, expected: float) -> None:
    backoff = BackoffPolicy(base_s=1.0, factor=2.0, cap_s=60.0)
    assert next_wait(published, 10, failures, backoff, 0.5) == expected


class FlakyBus(InProcessBus):
    """The in-process bus with a switch that makes every publish fail, like NATS down."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        if self.down:
            raise BusError("bus is down (test switch)")
        return await super().publish_batch(messages)


@pytest.fixture()
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    Base.metadata.create_all(engine, tables=[OutboxEvent.__table__])  # type: ignore[list-item]
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()




def write(sessions: sessionmaker[Session], n: int, commit: bool = True) -> list[str]:
    with sessions() as session:
        ids = [enqueue(session, "ams", "project", "created", {"n": i}).id for i in range(n)]
        if commit:
            session.commit()
        else:
            session.rollback()
    return ids


async def collect(bus: InProcessBus) -> list[Event]:
    seen: list[Event] = []

    async def handler(event: Event) -> None:
        seen.append(event)

    await bus.subscribe("covenant.>", handler)
    return seen


async def test_committed_events_go_out_once_in_order_rolled_back_never(
    sessions: sessionmaker[Session],
) -> None:
    bus = InProcessBus()
    seen = await collect(bus)
    relay = OutboxRelay(sessions, bus, batch_size=3)
    committed = write(sessions, 5)
    write(sessions, 2, commit=False)
    assert await relay.run_once() == 3
    assert await relay.run_once() == 2
    assert await relay.run_once() == 0
    await bus.drain()
    assert [e.msg_id for e in seen] == committed
    body = json.loads(seen[0].data)
    assert (body["id"], body["region"], body["entity"], body["verb"], body["data"]) == (
        committed[0], "ams", "project", "created", {"n": 0}
    )
    assert seen[0].subject == "covenant.ams.project.created"
    assert relay.pending_count() == 0
    with sessions() as session:
        assert session.scalars(select(OutboxEvent.attempts)).all() == [1] * 5


async def test_events_stay_while_the_bus_is_down_and_go_out_after(
    sessions: sessionmaker[Session],
) -> None:
    bus = FlakyBus()
    seen = await collect(bus)
    relay = OutboxRelay(sessions, bus, batch_size=10)
    bus.down = True
    ids = write(sessions, 4)
    for _ in range(3):
        with pytest.raises(BusError, match="confirmed 0 of 4"):
            await relay.run_once()
    assert relay.pending_count() == 4
    with sessions() as session:
        assert session.scalars(select(OutboxEvent.attempts)).all() == [3] * 4
    bus.down = False
    assert await relay.run_once() == 4
    await bus.drain()
    assert [e.msg_id for e in seen] == ids
    assert relay.pending_count() == 0


async def test_running_relay_backs_off_then_delivers(sessions: sessionmaker[Session]) -> None:
    bus = FlakyBus()
    seen = await collect(bus)
    relay = OutboxRelay(
        sessions, bus, poll_interval=0.05, backoff=BackoffPolicy(base_s=0.01, cap_s=0.05)
    )
    bus.down = True
    await relay.start()
    ids = write(sessions, 3)
    await eventually(lambda: relay.stats.consecutive_failures >= 3)
    assert relay.pending_count() == 3
    bus.down = False
    await eventually(lambda: len(seen) == 3)
    await relay.stop()
    assert [e.msg_id for e in seen] == ids
    assert relay.stats.consecutive_failures == 0


async def test_commit_hook_wakes_the_relay_without_waiting_for_the_poll(
    sessions: sessionmaker[Session],
) -> None:
    bus = InProcessBus()
    seen = await collect(bus)
    # An hour-long poll: only the after-commit notification can deliver within the deadline.
    relay = OutboxRelay(sessions, bus, poll_interval=3600.0)
    pipeline = EventPipeline("ams", bus, relay, sessions)
    await pipeline.start()
    await eventually(lambda: relay.stats.failed_cycles == 0 and relay.pending_count() == 0)
    ids = write(sessions, 2)
    await eventually(lambda: len(seen) == 2)
    write(sessions, 1, commit=False)
    more = await asyncio.to_thread(write, sessions, 1)  # a commit from another thread
    await eventually(lambda: len(seen) == 3)
    assert [e.msg_id for e in seen] == ids + more
    await eventually(lambda: pipeline.pending_count() == 0)  # marked just after publishing
    await pipeline.stop()


def test_prune_due_first_time_then_once_per_interval() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    every = timedelta(minutes=10)
    assert prune_due(t0, None, every)
    assert not prune_due(t0 + timedelta(minutes=9), t0, every)
    assert prune_due(t0 + timedelta(minutes=10), t0, every)


async def test_published_rows_are_pruned_after_the_retention(
    sessions: sessionmaker[Session],
) -> None:
    clock = FakeClock(wall_offset=datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    relay = OutboxRelay(sessions, InProcessBus(), clock=clock, retention=timedelta(days=7))
    write(sessions, 2)
    assert await relay.run_once() == 2
    clock.advance(timedelta(days=6).total_seconds())
    recent = write(sessions, 1)
    assert await relay.run_once() == 1
    pending = write(sessions, 1)
    # the first two are now 7 days and 1 s old
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert relay.prune() == 2
    with sessions() as session:
        assert set(session.scalars(select(OutboxEvent.id)).all()) == set(recent + pending)
    assert relay.pending_count() == 1
