"""The region lock (:class:`kernel.locks.RegionLock`) on the state database, so every process
sees it: ``covenant up`` and a second control-plane replica, ``covenant runbook run``, the
``covenant db switchover`` CLI and the game-day scheduler.

One row per held region (``region_locks``): who holds it and until when. Taking and
refreshing is one atomic upsert whose ``WHERE`` lets it through only when the row is absent,
expired or already the caller's, so two processes racing for a free region cannot both win
(PostgreSQL locks the conflicting row; SQLite takes the database write lock). Expiry compares
wall-clock seconds (``clock``), as the in-memory lock does: processes of one host share the
clock, and across hosts the TTL (minutes) dwarfs NTP skew.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    String,
    Table,
    case,
    create_engine,
    delete,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from kernel.errors import KernelError
from kernel.state.base import StateBase
from kernel.state.migrate import StateSchemaError, upgrade_state


class RegionLockError(KernelError):
    """The region lock's table cannot be read or written."""


class RegionLockRow(StateBase):
    __tablename__ = "region_locks"
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[float] = mapped_column(Float)  # when this holder first took it
    expires_at: Mapped[float] = mapped_column(Float)


_T: Table = RegionLockRow.__table__  # type: ignore[assignment]  # a Table, typed FromClause


class SqlRegionLock:
    """A :class:`kernel.locks.RegionLock` on the state store (``COVENANT_STATE_URL``)."""

    def __init__(self, url: str | None = None, engine: Engine | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        try:
            self._engine = engine or create_engine(
                str(url), pool_pre_ping=not str(url).startswith("sqlite"))
            upgrade_state(self._engine)
        except (SQLAlchemyError, StateSchemaError) as exc:
            raise RegionLockError(f"the region lock at {url!r} cannot be opened: {exc}; "
                                  "check COVENANT_STATE_URL") from exc
        self._clock = clock
        self._insert = _dialect_insert(self._engine.dialect.name)

    def close(self) -> None:
        self._engine.dispose()

    async def acquire(self, region: str, holder: str, ttl_s: float) -> bool:
        return await asyncio.to_thread(self._acquire, region, holder, ttl_s)

    async def release(self, region: str, holder: str) -> None:
        await asyncio.to_thread(self._release, region, holder)

    async def holder(self, region: str) -> str | None:
        return await asyncio.to_thread(self._holder, region)

    async def holders(self) -> dict[str, tuple[str, float]]:
        """Every region held now: region -> (holder, expires at, wall-clock seconds)."""
        return await asyncio.to_thread(self._holders)

    def _acquire(self, region: str, holder: str, ttl_s: float) -> bool:
        now = self._clock()
        new = self._insert(_T).values(region=region, holder=holder, acquired_at=now,
                                      expires_at=now + ttl_s)
        mine = _T.c.holder == new.excluded.holder
        statement = new.on_conflict_do_update(
            index_elements=[_T.c.region],
            # A refresh keeps when it was first taken; a takeover of an expired row restarts it.
            set_={"holder": new.excluded.holder, "expires_at": new.excluded.expires_at,
                  "acquired_at": case((mine, _T.c.acquired_at),
                                      else_=new.excluded.acquired_at)},
            where=or_(mine, _T.c.expires_at <= now),
        ).returning(_T.c.holder)
        return bool(self._run(lambda c: c.execute(statement).first() is not None))

    def _release(self, region: str, holder: str) -> None:
        statement = delete(_T).where(_T.c.region == region, _T.c.holder == holder)
        self._run(lambda c: c.execute(statement))

    def _holder(self, region: str) -> str | None:
        query = select(_T.c.holder).where(_T.c.region == region,
                                          _T.c.expires_at > self._clock())
        found = self._run(lambda c: c.execute(query).scalar_one_or_none())
        return str(found) if found is not None else None

    def _holders(self) -> dict[str, tuple[str, float]]:
        query = select(_T.c.region, _T.c.holder, _T.c.expires_at).where(
            _T.c.expires_at > self._clock()).order_by(_T.c.region)
        rows = self._run(lambda c: list(c.execute(query)))
        return {r.region: (r.holder, r.expires_at) for r in rows}

    def _run(self, work: Callable[[Connection], Any]) -> Any:
        """``work`` in one transaction; a database error names the fix."""
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise RegionLockError(f"region lock: {exc}; check COVENANT_STATE_URL") from exc


def _dialect_insert(dialect: str) -> Any:
    """The dialect's INSERT with ``ON CONFLICT DO UPDATE ... WHERE`` (both have it)."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RegionLockError(f"the region lock needs PostgreSQL or SQLite, not {dialect}; "
                          "point COVENANT_STATE_URL at one of them")

