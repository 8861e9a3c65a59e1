"""Where policy decisions and budget snapshots are recorded (SQLAlchemy, its own tables).

Shares the control plane's state database (``COVENANT_STATE_URL``; default SQLite
``state.db`` under ``data_dir``) and its base (``kernel.state.base.StateBase``); the state
migrations (``kernel.state.migrate``) bring its tables up to date at open.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, Float, Integer, String, create_engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from kernel.state.base import StateBase
from kernel.state.migrate import StateSchemaError, upgrade_state
from slo.budget import BudgetStatus
from slo.errors import SloError
from slo.policy import DecisionKind, PolicyDecision


class StoreError(SloError):
    """The SLO store cannot be opened or written."""


class DecisionRow(StateBase):
    __tablename__ = "slo_policy_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    service: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    slo_id: Mapped[str] = mapped_column(String(300), default="")
    incident_id: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(2000))


class BudgetRow(StateBase):
    __tablename__ = "slo_budget_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    slo_id: Mapped[str] = mapped_column(String(300), index=True)
    service: Mapped[str] = mapped_column(String(200))
    objective: Mapped[float] = mapped_column(Float)
    sli: Mapped[float] = mapped_column(Float)
    consumed: Mapped[float] = mapped_column(Float)
    remaining: Mapped[float] = mapped_column(Float)
    burn_rate: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)


class SloStore:
    def __init__(self, url: str) -> None:
        engine: Engine | None = None
        try:
            engine = create_engine(url)
            upgrade_state(engine)
        except (SQLAlchemyError, StateSchemaError) as exc:
            if engine is not None:
                engine.dispose()  # a store that fails to open keeps no pooled connection
            raise StoreError(f"SLO store {url!r} cannot be opened: {exc}; check "
                             "COVENANT_STATE_URL") from exc
        self._engine = engine
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    def record_decisions(self, decisions: Sequence[PolicyDecision]) -> None:
        self.record((), decisions)

    def record_budgets(self, budgets: Sequence[BudgetStatus]) -> None:
        self.record(budgets, ())

    def record(self, budgets: Sequence[BudgetStatus], decisions: Sequence[PolicyDecision],
               prune_before: float | None = None) -> None:
        """One snapshot of budgets and verdicts in one transaction; with ``prune_before``,
        rows older than it go (the control plane records every minute)."""
        with self._sessions.begin() as s:
            s.add_all(BudgetRow(at=b.at, slo_id=b.slo_id, service=b.service,
                                objective=b.objective, sli=b.sli, consumed=b.consumed,
                                remaining=b.remaining, burn_rate=b.burn_rate, total=b.total)
                      for b in budgets)
            s.add_all(DecisionRow(at=d.at, service=d.service, kind=d.kind.value,
                                  slo_id=d.slo_id, incident_id=d.incident_id, reason=d.reason)
                      for d in decisions)
            if prune_before is not None:
                for table in (BudgetRow, DecisionRow):
                    s.execute(delete(table).where(table.at < prune_before))

    def decisions(self, service: str | None = None, limit: int = 1000) -> list[PolicyDecision]:
        q = select(DecisionRow).order_by(DecisionRow.at.desc(), DecisionRow.id.desc())
        if service is not None:
            q = q.where(DecisionRow.service == service)
        with self._sessions() as s:
            rows = list(s.scalars(q.limit(limit)))
        return [PolicyDecision(DecisionKind(r.kind), r.service, r.reason, r.at, r.slo_id,
                               r.incident_id) for r in reversed(rows)]

    def latest_budgets(self) -> list[BudgetRow]:
        """The last snapshot written of each SLO."""
        newest = (select(func.max(BudgetRow.id)).group_by(BudgetRow.slo_id)).scalar_subquery()
        with self._sessions() as s:
            rows = list(s.scalars(select(BudgetRow).where(BudgetRow.id.in_(newest))))
        return sorted(rows, key=lambda r: r.slo_id)

    def close(self) -> None:
        self._engine.dispose()
