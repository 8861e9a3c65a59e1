"""The outbox relay: publishes committed outbox rows to the bus, in order, then marks them.

Delivery is at-least-once from the relay and exactly-once in a JetStream stream: a row is
marked published only after the bus confirmed it, and a crash between the two makes the
next run republish it under the same ``Nats-Msg-Id``, which the stream drops.

On PostgreSQL the batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and the
lock held until the rows are marked, so two relays never publish the same row; SQLite
ignores the clause (run one relay per SQLite file — there is one process per region).
A relay given a ``region`` claims, counts and prunes only that region's rows (subjects
``covenant.<region>.``), so the regions may share one database and each publishes its own.

Database work runs on one dedicated thread so a slow commit never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core_api.outbox import OutboxEvent, count_pending, pending, region_filter
from core_api.relay_policy import BackoffPolicy, next_wait, prune_due
from kernel.bus import BusError, EventBus, Outgoing
from kernel.clock import SYSTEM_CLOCK, Clock, utcnow

__all__ = ["BackoffPolicy", "OutboxRelay", "RelayStats", "next_wait", "unpublished_ids"]

log = logging.getLogger(__name__)
T = TypeVar("T")

SessionFactory = Callable[[], Session]



@dataclass
class RelayStats:
    published_total: int = 0
    failed_cycles: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class _Claim:
    session: Session | None  # held open (row locks) only where SKIP LOCKED exists
    seqs: list[int]
    messages: list[Outgoing]


class OutboxRelay:
    """Moves pending outbox rows to the bus; ``notify()`` after a commit wakes it at once.

    ``region`` limits it to that region's rows; None relays every row in the table."""

    def __init__(
        self,
        session_factory: SessionFactory,
        bus: EventBus,
        clock: Clock = SYSTEM_CLOCK,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        backoff: BackoffPolicy | None = None,
        retention: timedelta | None = timedelta(days=7),
        prune_every: timedelta = timedelta(minutes=10),
        region: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.region = region
        self._mine = region_filter(region)
        self._session_factory = session_factory
        self._bus = bus
        self._clock = clock
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.backoff = backoff or BackoffPolicy()
        self.stats = RelayStats()
        self.retention = retention
        self.prune_every = prune_every
        self._last_pruned: datetime | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-relay")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- one cycle -------------------------------------------------------------------
    async def run_once(self) -> int:
        """Publish up to one batch; return how many rows were published and marked."""
        claim = await self._in_db(self._claim)
        if not claim.messages:
            if claim.session is not None:
                await self._in_db(claim.session.close)
            return 0
        confirmed, error = 0, "the rest unconfirmed"
        try:
            confirmed = await self._bus.publish_batch(claim.messages)
        except BusError as exc:
            error = str(exc)
        finally:
            await self._in_db(self._mark, claim, confirmed)
        if confirmed < len(claim.messages):
            raise BusError(f"bus confirmed {confirmed} of {len(claim.messages)} events; {error}")
        return confirmed

    def _claim(self) -> _Claim:
        session = self._session_factory()
        try:
            rows = session.execute(
                select(OutboxEvent.seq, OutboxEvent.id, OutboxEvent.subject, OutboxEvent.payload)
                .where(pending(self.region))
                .order_by(OutboxEvent.seq)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
        except BaseException:
            session.close()
            raise
        if not _supports_skip_locked(session) or not rows:
            # SQLite: no row locks to hold, and keeping the transaction would stall writers.
            session.close()
            session_kept: Session | None = None
        else:
            session_kept = session
        return _Claim(
            session=session_kept,
            seqs=[r.seq for r in rows],
            messages=[Outgoing(r.subject, r.payload.encode(), r.id) for r in rows],
        )

    def _mark(self, claim: _Claim, confirmed: int) -> None:
        """Mark the confirmed prefix published; count an attempt on every claimed row."""
        session = claim.session or self._session_factory()
        try:
            done, rest = claim.seqs[:confirmed], claim.seqs[confirmed:]
            if done:
                session.execute(
                    update(OutboxEvent).where(OutboxEvent.seq.in_(done))
                    .values(published_at=utcnow(self._clock), attempts=OutboxEvent.attempts + 1)
                )
            if rest:
                session.execute(
                    update(OutboxEvent).where(OutboxEvent.seq.in_(rest))
                    .values(attempts=OutboxEvent.attempts + 1)
                )
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        self.stats.published_total += confirmed

    def prune(self) -> int:
        """Delete rows published longer than ``retention`` ago; return how many."""
        if self.retention is None:
            return 0
        now = utcnow(self._clock)
        with self._session_factory() as session:
            result = session.execute(
                delete(OutboxEvent).where(OutboxEvent.published_at < now - self.retention,
                                          self._mine)
            )
            session.commit()
        self._last_pruned = now
        return int(getattr(result, "rowcount", 0) or 0)

    def pending_count(self) -> int:
        """Rows committed but not yet published (the outbox backlog gauge)."""
        with self._session_factory() as session:
            return count_pending(session, self.region)

    async def _in_db(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    # ---- the loop --------------------------------------------------------------------
    def notify(self) -> None:
        """Wake the relay now (thread-safe; call after committing outbox rows)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(wake.set)

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task = self._loop.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None and self._stop is not None:
            self._stop.set()
            if self._wake is not None:
                self._wake.set()
            await self._task
        self._task = None
        self._loop = None
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        assert self._wake is not None and self._stop is not None
        while not self._stop.is_set():
            self._wake.clear()  # a commit notified during the cycle triggers the next one
            published = await self._cycle()
            wait = next_wait(
                published, self.batch_size, self.stats.consecutive_failures,
                self.backoff, self.poll_interval,
            )
            if wait > 0:
                # While failing, commits must not bypass the backoff: wait on stop only.
                event = self._stop if self.stats.consecutive_failures else self._wake
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), wait)

    async def _cycle(self) -> int:
        try:
            published = await self.run_once()
        except Exception as exc:  # keep relaying: the rows stay pending and are retried
            if not isinstance(exc, BusError | SQLAlchemyError):
                log.exception("outbox relay: unexpected failure")
            self.stats.failed_cycles += 1
            self.stats.consecutive_failures += 1
            self.stats.last_error = str(exc)
            log.warning(
                "outbox relay: %s (attempt %d, retrying in %.1fs)", exc,
                self.stats.consecutive_failures,
                self.backoff.delay(self.stats.consecutive_failures),
            )
            return 0
        self.stats.consecutive_failures = 0
        if published < self.batch_size:  # idle: time for housekeeping
            await self._maybe_prune()
        return published

    async def _maybe_prune(self) -> None:
        now = utcnow(self._clock)
        if not self.retention or not prune_due(now, self._last_pruned, self.prune_every):
            return
        try:
            pruned = await self._in_db(self.prune)
        except SQLAlchemyError as exc:  # pruning is housekeeping: never stop relaying
            log.warning("outbox relay: pruning published rows failed: %s", exc)
        else:
            log.debug("outbox relay: pruned %d published rows", pruned)


def _supports_skip_locked(session: Session) -> bool:
    return session.get_bind().dialect.name in ("postgresql", "mysql", "oracle")


def unpublished_ids(session: Session, region: str | None = None) -> Sequence[str]:
    """Ids of pending rows (of ``region``, else all) in publish order (tests and the CLI)."""
    return session.scalars(
        select(OutboxEvent.id).where(pending(region))
        .order_by(OutboxEvent.seq)
    ).all()
