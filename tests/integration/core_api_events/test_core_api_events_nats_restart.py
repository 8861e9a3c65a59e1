"""Outbox delivery after NATS comes back: a private nats-server is stopped while the API
keeps committing, the events stay in the outbox, and once the server is back on the same
port (same store) the running relay delivers every one, exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core_api.outbox import OutboxEvent, enqueue
from core_api.relay import OutboxRelay
from core_api.relay_policy import BackoffPolicy
from kernel.nats_bus import NatsBus
from tests.waiting import eventually


def write(sessions: sessionmaker[Session], n: int) -> list[str]:
    with sessions() as session:
        ids = [enqueue(session, "sin", "project", "created", {"n": i}).id for i in range(n)]
        session.commit()
    return ids


def min_attempts(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(
            select(func.min(OutboxEvent.attempts)).where(OutboxEvent.published_at.is_(None))
        ) or 0)


async def stream_ids(url: str, stream: str, expected: int) -> tuple[list[str], int]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    psub = await js.pull_subscribe("covenant.>", stream=stream)
    got: list[str] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + 10
    while len(got) < expected and loop.time() < end:
        try:
            msgs = await psub.fetch(expected - len(got), timeout=0.5)
        except nats.errors.TimeoutError:
            continue
        got.extend((m.headers or {}).get("Nats-Msg-Id", "") for m in msgs)
    count = int((await js.stream_info(stream)).state.messages)
    await nc.close()
    return got, count


async def test_events_wait_in_the_outbox_while_nats_is_down(
    private_nats: Any, sqlite_sessions: sessionmaker[Session]
) -> None:
    server = private_nats
    url = server.url
    bus = NatsBus(url, stream="COVENANT", publish_timeout_s=0.5, reconnect_wait_s=0.1)
    relay = OutboxRelay(
        sqlite_sessions, bus, poll_interval=0.05, backoff=BackoffPolicy(base_s=0.05, cap_s=0.3)
    )
    await relay.start()
    before = write(sqlite_sessions, 3)
    await eventually(lambda: relay.pending_count() == 0, "the first events to go out")

    server.stop()
    during = write(sqlite_sessions, 4)
    # The relay keeps trying (attempts counted on every pending row) and keeps the rows.
    await eventually(
        lambda: min_attempts(sqlite_sessions) >= 2 and relay.stats.consecutive_failures >= 2,
        "two failed attempts",
    )
    assert relay.pending_count() == 4

    await asyncio.to_thread(server.start)
    after = write(sqlite_sessions, 2)
    await eventually(lambda: relay.pending_count() == 0, "delivery after NATS came back")
    await relay.stop()
    await bus.close()

    ids, count = await stream_ids(url, "COVENANT", expected=9)
    assert ids == before + during + after
    assert count == 9  # no duplicates despite the retries
