"""Regions sharing one PostgreSQL database (a COVENANT_DATABASE_URL without '{region}'):
each region's relay claims, counts and publishes only its own region's outbox rows, and
each row is published exactly once, also with two relays per region running at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core_api.database import Database
from core_api.events import build_event_pipeline
from core_api.outbox import enqueue
from core_api.prepare import upgrade_regions
from core_api.relay import OutboxRelay, unpublished_ids
from kernel.bus import Event, InProcessBus, Outgoing
from kernel.settings import Settings
from tests.waiting import eventually

REGIONS = ("ams", "iad")


@pytest.fixture()
def shared(postgres_url: str) -> Iterator[dict[str, Database]]:
    """One migrated PostgreSQL database, opened once per region as ``covenant up`` would."""
    settings = Settings(database_url=postgres_url, nats_url=None, redis_url=None)
    upgrade_regions(settings, REGIONS[:1])  # one schema for every region
    databases = {r: Database.for_region(settings, r) for r in REGIONS}
    assert len({str(db.engine.url) for db in databases.values()}) == 1
    yield databases
    for db in databases.values():
        db.dispose()


def write(sessions: sessionmaker[Session], region: str, n: int, start: int = 0) -> list[str]:
    with sessions() as session:
        ids = [enqueue(session, region, "project", "created", {"n": start + i}).id
               for i in range(n)]
        session.commit()
    return ids



async def test_each_region_pipeline_publishes_only_its_own_events(
    shared: dict[str, Database],
) -> None:
    settings = Settings(database_url=str(shared["ams"].engine.url), nats_url=None,
                        redis_url=None)
    ids = {r: write(shared[r].writes, r, n) for r, n in (("ams", 3), ("iad", 5))}
    pipelines = {r: build_event_pipeline(settings, r, shared[r].writes) for r in REGIONS}
    # The backlog gauge of each region counts its own rows only.
    assert {r: p.pending_count() for r, p in pipelines.items()} == {"ams": 3, "iad": 5}
    with shared["ams"].reads() as session:
        assert list(unpublished_ids(session, "iad")) == ids["iad"]
        assert len(unpublished_ids(session)) == 8
    seen: dict[str, list[Event]] = {r: [] for r in REGIONS}
    for region, pipeline in pipelines.items():
        async def record(event: Event, region: str = region) -> None:
            seen[region].append(event)
        await pipeline.bus.subscribe("covenant.>", record)
        await pipeline.start()
    try:
        for i in range(20):  # interleaved commits, each waking its own region's relay
            for region in REGIONS:
                ids[region] += await asyncio.to_thread(write, shared[region].writes, region,
                                                       3, 100 + 3 * i)
        await eventually(lambda: all(p.pending_count() == 0 for p in pipelines.values()),
                         "both backlogs drained")
        for pipeline in pipelines.values():
            assert isinstance(pipeline.bus, InProcessBus)
            await pipeline.bus.drain()
    finally:
        for pipeline in pipelines.values():
            await pipeline.stop()
    for region in REGIONS:
        assert {e.subject for e in seen[region]} == {f"covenant.{region}.project.created"}
        assert [e.msg_id for e in seen[region]] == ids[region]  # all, once each, in order
        bus = pipelines[region].bus
        assert isinstance(bus, InProcessBus)
        assert (bus.published, bus.duplicates) == (len(ids[region]), 0)


class RecordingBus(InProcessBus):
    """Records every publish call, with no dedupe, so a double publish would show."""

    def __init__(self, log: list[Outgoing]) -> None:
        super().__init__()
        self.log = log

    async def publish_batch(self, messages: Sequence[Outgoing]) -> int:
        self.log.extend(messages)
        return len(messages)


async def test_two_relays_per_region_publish_each_own_row_exactly_once(
    shared: dict[str, Database],
) -> None:
    published: dict[str, list[Outgoing]] = {r: [] for r in REGIONS}
    relays = [OutboxRelay(shared[r].writes, RecordingBus(published[r]), batch_size=7,
                          poll_interval=0.02, region=r)
              for r in REGIONS for _ in range(2)]
    for relay in relays:
        await relay.start()
    ids: dict[str, list[str]] = {r: [] for r in REGIONS}
    try:
        for i in range(10):
            for region in REGIONS:
                ids[region] += await asyncio.to_thread(write, shared[region].writes, region,
                                                       10, 10 * i)
        await eventually(lambda: all(len(published[r]) >= len(ids[r]) for r in REGIONS),
                         "all 200 events")
        await eventually(lambda: all(relay.pending_count() == 0 for relay in relays),
                         "every row marked published")
    finally:
        for relay in relays:
            await relay.stop()
    for region in REGIONS:
        assert sorted(m.msg_id for m in published[region]) == sorted(ids[region])
        assert {m.subject for m in published[region]} == {f"covenant.{region}.project.created"}
