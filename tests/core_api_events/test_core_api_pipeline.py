"""build_event_pipeline's choices, and the invalidator subscribing once the bus is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from core_api.cache import NullCache
from core_api.cache_invalidator import CacheInvalidator
from core_api.db import Base
from core_api.events import EventPipeline, build_event_pipeline
from core_api.outbox import OutboxEvent
from core_api.relay import OutboxRelay
from core_api.relay_policy import BackoffPolicy
from kernel.bus import BusError, Handler, InProcessBus, Subscription
from kernel.buses import build_bus
from kernel.nats_bus import NatsBus
from kernel.settings import Settings
from tests.waiting import eventually


@pytest.fixture()
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    Base.metadata.create_all(engine, tables=[OutboxEvent.__table__])  # type: ignore[list-item]
    yield sessionmaker(engine)
    engine.dispose()


def test_defaults_are_in_process_without_invalidator(sessions: sessionmaker[Session]) -> None:
    pipeline = build_event_pipeline(Settings(), "ams", sessions)
    assert isinstance(pipeline.bus, InProcessBus)
    assert pipeline.invalidator is None


def test_nats_settings_choose_jetstream_with_stream_and_prefix() -> None:
    bus = build_bus(Settings(nats_url="nats://127.0.0.1:1", nats_stream="S1",
                             nats_subject_prefix="t1.").bus)
    assert isinstance(bus, NatsBus)
    assert (bus.stream, bus.subjects, bus.subject_prefix) == ("S1", ["t1.covenant.>"], "t1.")


class DownThenUpBus(InProcessBus):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def subscribe(
        self, subject_pattern: str, handler: Handler, durable: str | None = None
    ) -> Subscription:
        if self.failures > 0:
            self.failures -= 1
            raise BusError("NATS down (test)")
        return await super().subscribe(subject_pattern, handler, durable)


async def test_invalidator_subscribes_once_the_bus_answers(
    sessions: sessionmaker[Session],
) -> None:
    bus = DownThenUpBus(failures=3)
    invalidator = CacheInvalidator(NullCache(), "ams")
    pipeline = EventPipeline(
        "ams", bus, OutboxRelay(sessions, bus), sessions, invalidator,
        retry=BackoffPolicy(base_s=0.001, cap_s=0.01),
    )
    await pipeline.start()
    await eventually(lambda: invalidator.started, "the invalidator to subscribe", timeout=5)
    assert bus.failures == 0
    await bus.publish("covenant.ams.project.created", b"{}", "e1")
    await bus.drain()
    assert invalidator.events_seen == 1
    await pipeline.stop()
    assert not invalidator.started
