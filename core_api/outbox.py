"""The transactional outbox: events are rows written in the same transaction as the change.

A relay (``core_api.relay``) publishes pending rows to the bus and marks them sent, so an
event goes out if and only if its transaction committed. ``id`` doubles as the
``Nats-Msg-Id``, which makes a redelivery after a crash a no-op in the JetStream stream.

Refinement (events helper): ``enqueue`` also sets ``session.info[PENDING_FLAG]``; the
event pipeline (``core_api.events``) listens for ``after_commit`` on the sessionmaker it
was given and wakes the relay at once when that flag is set, so callers need not call
``notify()`` themselves (they may; it is harmless). Columns and signature are unchanged.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core_api import contract
from core_api.db import Base
from kernel.clock import utcnow

# Set on a session that enqueued events; read (and cleared) by the pipeline's commit hook.
PENDING_FLAG = "covenant.outbox_pending"


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "published_at", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


_INSERT_EVENT = insert(cast(Table, OutboxEvent.__table__))


def subject_for(region: str, entity: str, verb: str) -> str:
    """``covenant.<region>.<entity>.<verb>``, e.g. ``covenant.ams.project.created``."""
    return contract.event_subject(region, entity, verb)


def pending(region: str | None) -> ColumnElement[bool]:
    """Rows of ``region`` (all when None) not yet published: the relay's work and backlog."""
    return and_(OutboxEvent.published_at.is_(None), region_filter(region))


def count_pending(conn: Connection | Session, region: str | None) -> int:
    """The outbox backlog of ``region`` (the ``/metrics`` gauge and the pipeline's count)."""
    return int(conn.scalar(select(func.count()).select_from(OutboxEvent)
                           .where(pending(region))) or 0)


def region_filter(region: str | None) -> ColumnElement[bool]:
    """Rows of ``region``'s events (all rows when None): the subject's ``covenant.<region>.``
    prefix. Regions sharing one database share one table; each relay and backlog gauge must
    see only its own region's rows."""
    if region is None:
        return true()
    return OutboxEvent.subject.startswith(f"{contract.EVENT_ROOT}.{region}.",
                                          autoescape=True)


def enqueue(
    session: Session, region: str, entity: str, verb: str, data: dict[str, Any],
    now: datetime | None = None,
) -> OutboxEvent:
    """Add an event to ``session``; it is published only if the session commits.

    The row is written with a Core INSERT in the session's transaction: the ORM unit of
    work cost about 0.25 ms per event, a third of an API write (measured by the core API
    benchmark). The returned ``OutboxEvent`` is a detached record of that row.
    """
    event_id = str(uuid.uuid4())
    created_at = now or utcnow()
    envelope = {
        "id": event_id, "region": region, "entity": entity, "verb": verb,
        "occurred_at": created_at.isoformat(), "data": data,
    }
    event = OutboxEvent(
        id=event_id,
        subject=subject_for(region, entity, verb),
        payload=json.dumps(envelope, default=str, separators=(",", ":")),
        created_at=created_at,
        attempts=0,
    )
    session.execute(_INSERT_EVENT, {
        "id": event.id, "subject": event.subject, "payload": event.payload,
        "created_at": event.created_at, "published_at": None, "attempts": 0,
    })
    session.info[PENDING_FLAG] = True
    return event
