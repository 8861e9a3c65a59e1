"""The outbox through real JetStream (the shared server, a unique stream per test):
exactly one event per committed change, none for a rolled-back one, and Nats-Msg-Id
dedupe when the relay republishes after a crash between publish and mark."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core_api.outbox import OutboxEvent, enqueue
from core_api.relay import OutboxRelay
from kernel.bus import BusError, Event, Outgoing
from kernel.nats_bus import NatsBus
from tests.waiting import eventually


def write(sessions: sessionmaker[Session], verb: str, n: int, commit: bool) -> list[str]:
    with sessions() as session:
        ids = [enqueue(session, "ams", "project", verb, {"n": i}).id for i in range(n)]
        session.commit() if commit else session.rollback()
    return ids


async def test_one_event_per_committed_change_none_for_rolled_back(
    nats_url: str, shared_stream: Any, sqlite_sessions: sessionmaker[Session]
) -> None:
    bus = NatsBus(nats_url, stream=shared_stream.stream, subject_prefix=shared_stream.prefix)
    relay = OutboxRelay(sqlite_sessions, bus, batch_size=4)
    created = write(sqlite_sessions, "created", 3, commit=True)
    write(sqlite_sessions, "created", 2, commit=False)
    updated = write(sqlite_sessions, "updated", 1, commit=True)
    deleted = write(sqlite_sessions, "deleted", 2, commit=True)
    while await relay.run_once():
        pass
    assert relay.pending_count() == 0
    got = await shared_stream.read_all(expected=6)
    assert [r.msg_id for r in got] == created + updated + deleted
    assert [r.subject for r in got] == (
        ["covenant.ams.project.created"] * 3 + ["covenant.ams.project.updated"]
        + ["covenant.ams.project.deleted"] * 2
    )
    assert [json.loads(r.data)["id"] for r in got] == [r.msg_id for r in got]
    assert await shared_stream.message_count() == 6
    await bus.close()


async def test_redelivery_after_a_crash_is_dropped_by_nats_msg_id(
    nats_url: str, shared_stream: Any, sqlite_sessions: sessionmaker[Session]
) -> None:
    bus = NatsBus(nats_url, stream=shared_stream.stream, subject_prefix=shared_stream.prefix)
    ids = write(sqlite_sessions, "created", 5, commit=True)
    # A relay process published the pending rows exactly as the relay does, then died
    # before marking them: the rows are still pending.
    with sqlite_sessions() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.seq)
        ).all()
        for row in rows:
            await bus.publish(row.subject, row.payload.encode(), row.id)
    assert await shared_stream.message_count() == 5
    relay = OutboxRelay(sqlite_sessions, bus, batch_size=100)
    assert relay.pending_count() == 5
    assert await relay.run_once() == 5  # the restarted relay republishes all five
    assert relay.pending_count() == 0
    got = await shared_stream.read_all(expected=5)
    assert [r.msg_id for r in got] == ids
    assert await shared_stream.message_count() == 5
    await bus.close()


class LostAckBus(NatsBus):
    """Publishes for real, then reports failure: the ack was lost on the way back."""

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        await super().publish_batch(messages)
        raise BusError("ack lost (test)")


async def test_lost_acks_are_retried_without_duplicates(
    nats_url: str, shared_stream: Any, sqlite_sessions: sessionmaker[Session]
) -> None:
    lossy = LostAckBus(nats_url, stream=shared_stream.stream, subject_prefix=shared_stream.prefix)
    ids = write(sqlite_sessions, "updated", 4, commit=True)
    with pytest.raises(BusError, match="confirmed 0 of 4"):
        await OutboxRelay(sqlite_sessions, lossy).run_once()
    bus = NatsBus(nats_url, stream=shared_stream.stream, subject_prefix=shared_stream.prefix)
    relay = OutboxRelay(sqlite_sessions, bus)
    assert relay.pending_count() == 4
    assert await relay.run_once() == 4
    got = await shared_stream.read_all(expected=4)
    assert [r.msg_id for r in got] == ids
    assert await shared_stream.message_count() == 4
    with sqlite_sessions() as session:
        assert session.scalars(select(OutboxEvent.attempts)).all() == [2] * 4
    await lossy.close()
    await bus.close()


async def test_durable_subscriber_receives_events_without_prefix(
    nats_url: str, shared_stream: Any, sqlite_sessions: sessionmaker[Session]
) -> None:
    bus = NatsBus(nats_url, stream=shared_stream.stream, subject_prefix=shared_stream.prefix)
    seen: list[Event] = []

    async def handler(event: Event) -> None:
        seen.append(event)

    sub = await bus.subscribe("covenant.ams.>", handler, durable="events-test")
    relay = OutboxRelay(sqlite_sessions, bus)
    ids = write(sqlite_sessions, "created", 3, commit=True)
    await relay.run_once()
    await eventually(lambda: len(seen) >= 3, "three events delivered", timeout=5)
    assert [(e.subject, e.msg_id) for e in seen] == [
        ("covenant.ams.project.created", i) for i in ids
    ]
    await sub.unsubscribe()
    await bus.close()
