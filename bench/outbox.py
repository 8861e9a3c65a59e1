"""``covenant bench outbox``: events per second through enqueue + relay + JetStream.

Two figures on one database and one NATS server:

* end to end: ``writers`` threads commit ``events`` transactions of one outbox row each
  (what an API write adds; concurrent like API requests) while the running relay, woken
  by each commit, publishes to JetStream; the clock stops when the outbox is empty (every
  event confirmed by the stream);
* drain: a backlog of ``events`` rows committed while the relay is stopped, then the time
  the relay takes to publish them all (what happens after a NATS outage).

Each run uses a stream and subject prefix of its own and deletes the stream afterwards.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import nats
from sqlalchemy.orm import Session, sessionmaker

from core_api.database import Database
from core_api.db import Base
from core_api.events import EventPipeline
from core_api.outbox import OutboxEvent, enqueue
from core_api.relay import OutboxRelay
from kernel.nats_bus import NatsBus


@dataclass(frozen=True)
class OutboxBenchResult:
    events: int
    database: str
    batch_size: int
    writers: int
    enqueue_commits_per_s: float
    end_to_end_events_per_s: float
    drain_events_per_s: float
    stream_messages: int


def _write_some(sessions: sessionmaker[Session], n: int, region: str) -> None:
    for i in range(n):
        with sessions() as session:
            enqueue(session, region, "project", "created", {"id": i, "budget": 1_000_000})
            session.commit()


def _write(sessions: sessionmaker[Session], n: int, region: str, writers: int = 1) -> float:
    """Commit ``n`` one-event transactions from ``writers`` threads; return the seconds."""
    shares = [n // writers + (1 if i < n % writers else 0) for i in range(writers)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        for done in [pool.submit(_write_some, sessions, k, region) for k in shares]:
            done.result()
    return time.perf_counter() - start


async def _until_drained(relay: OutboxRelay, deadline_s: float = 300.0) -> None:
    end = time.monotonic() + deadline_s
    while await asyncio.to_thread(relay.pending_count) > 0:
        if time.monotonic() > end:
            raise TimeoutError(f"outbox not drained within {deadline_s}s")
        await asyncio.sleep(0.005)


async def _stream_count(url: str, stream: str, delete: bool) -> int:
    nc = await nats.connect(url)
    js = nc.jetstream()
    count = int((await js.stream_info(stream)).state.messages)
    if delete:
        await js.delete_stream(stream)
    await nc.close()
    return count


async def run_outbox_bench(
    nats_url: str, events: int = 5000, database_url: str | None = None, batch_size: int = 200,
    writers: int = 4,
) -> OutboxBenchResult:
    token = uuid.uuid4().hex[:10]
    stream, prefix = f"BENCH_{token}", f"bench{token}."
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        db = Database.connect(url)
        Base.metadata.create_all(db.engine, tables=[OutboxEvent.__table__])  # type: ignore[list-item]
        try:
            bus = NatsBus(nats_url, stream=stream, subject_prefix=prefix)
            relay = OutboxRelay(db.writes, bus, batch_size=batch_size)
            pipeline = EventPipeline("ams", bus, relay, db.writes)
            await pipeline.start()
            start = time.perf_counter()
            write_s = await asyncio.to_thread(_write, db.writes, events, "ams", writers)
            await _until_drained(relay)
            end_to_end_s = time.perf_counter() - start
            await pipeline.stop()

            bus = NatsBus(nats_url, stream=stream, subject_prefix=prefix)
            relay = OutboxRelay(db.writes, bus, batch_size=batch_size)
            await asyncio.to_thread(_write, db.writes, events, "ams")
            start = time.perf_counter()
            while await relay.run_once():
                pass
            drain_s = time.perf_counter() - start
            await relay.stop()
            await bus.close()
            count = await _stream_count(nats_url, stream, delete=True)
        finally:
            db.dispose()
    return OutboxBenchResult(
        events=events,
        database="sqlite" if url.startswith("sqlite") else url.split(":", 1)[0],
        batch_size=batch_size,
        writers=writers,
        enqueue_commits_per_s=round(events / write_s, 1),
        end_to_end_events_per_s=round(events / end_to_end_s, 1),
        drain_events_per_s=round(events / drain_s, 1),
        stream_messages=count,
    )


def result_dict(result: OutboxBenchResult) -> dict[str, object]:
    return asdict(result)
