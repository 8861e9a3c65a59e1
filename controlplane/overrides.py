"""Route overrides: regions taken out of routing by a person or a runbook (``route.drain``)
until they are restored, whatever their health says.

``decide()`` treats a drained region as not serving (its traffic goes to its nearest
serving region) while its health, incidents and verdicts go on as usual. Overrides live in
the state store (``cp_route_overrides``), so a drain survives a restart and a new leader
starts from it; the leader keeps them in memory between changes (one writer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from sqlalchemy import Float, String, Text, create_engine, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from controlplane.errors import StoreError
from kernel.state.base import StateBase
from kernel.state.migrate import StateSchemaError, upgrade_state

log = logging.getLogger(__name__)


class RouteOverrideRow(StateBase):
    __tablename__ = "cp_route_overrides"
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)


class RouteOverrides:
    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        try:
            self._engine = engine or create_engine(str(url), pool_pre_ping=_ping(url))
            upgrade_state(self._engine)
        except (SQLAlchemyError, StateSchemaError) as exc:
            raise StoreError(f"route overrides at {url!r} cannot be opened: {exc}; check "
                             "COVENANT_STATE_URL") from exc
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._drained: dict[str, str] = {}
        self.reload()

    def close(self) -> None:
        self._engine.dispose()

    def reload(self) -> None:
        """Read the overrides again (a new leader starts from what the last one left)."""
        with self._sessions() as s:
            self._drained = {r.region: r.reason for r in s.scalars(select(RouteOverrideRow))}

    def drained(self) -> Mapping[str, str]:
        """Region -> why it is drained."""
        return dict(self._drained)

    async def drain(self, region: str, reason: str, actor: str, at: float) -> bool:
        """Take ``region`` out of routing; False when it already was (idempotent)."""
        if region in self._drained:
            return False
        row = RouteOverrideRow(region=region, reason=reason, actor=actor, at=at)
        await asyncio.to_thread(self._write, lambda s: s.merge(row))
        self._drained[region] = reason
        log.info("%s drained by %s: %s", region, actor, reason)
        return True

    async def restore(self, region: str, reason: str, actor: str) -> bool:
        """Give ``region`` back to routing; False when it was not drained."""
        if region not in self._drained:
            return False
        statement = delete(RouteOverrideRow).where(RouteOverrideRow.region == region)
        await asyncio.to_thread(self._write, lambda s: s.execute(statement))
        del self._drained[region]
        log.info("%s restored by %s: %s", region, actor, reason)
        return True

    def _write(self, change: Callable[[Session], object]) -> None:
        try:
            with self._sessions.begin() as s:
                change(s)
        except SQLAlchemyError as exc:
            raise StoreError(f"route overrides: {exc}; check COVENANT_STATE_URL") from exc


def _ping(url: str | None) -> bool:
    """Check a pooled connection before use, except on SQLite (a file: nothing to lose)."""
    return not str(url).startswith("sqlite")
