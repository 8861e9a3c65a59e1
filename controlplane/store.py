"""Record: observations, verdicts, incidents with their timeline, and actions.

SQLAlchemy rows on the state database's shared base (``kernel.state.base.StateBase``):
SQLite under ``data_dir`` by default, PostgreSQL (or anything SQLAlchemy speaks) by URL. Its
schema comes from the state migrations (``kernel.state.migrate``), run at open. Synchronous on
purpose; the reconciler calls it in a worker thread once per cycle, one transaction per cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from controlplane.decide import Action, ActionKind, OpenIncident, Verdict
from controlplane.errors import StoreError
from controlplane.observation import ProbeStatus, RegionObservation
from kernel.state.base import StateBase
from kernel.state.migrate import StateSchemaError, upgrade_state


class ObservationRow(StateBase):
    __tablename__ = "cp_observations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    region: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)
    # Added later (state revision 0002; rows recorded before it have no values):
    latency_p99_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    request_rate: Mapped[float | None] = mapped_column(Float, nullable=True)


class VerdictRow(StateBase):
    __tablename__ = "cp_verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    region: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    changed: Mapped[bool] = mapped_column(Boolean)
    line: Mapped[str] = mapped_column(Text)


class RegionRow(StateBase):
    """The latest verdict per region: what /v1/regions serves."""

    __tablename__ = "cp_regions"
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[float] = mapped_column(Float)
    line: Mapped[str] = mapped_column(Text)
    latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error_ratio: Mapped[float] = mapped_column(Float)
    routed_to: Mapped[str] = mapped_column(String(16))


class IncidentRow(StateBase):
    __tablename__ = "cp_incidents"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | resolved
    opened_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    summary: Mapped[str] = mapped_column(Text)


class IncidentEventRow(StateBase):
    __tablename__ = "cp_incident_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("cp_incidents.id"), index=True)
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))  # opened | updated | resolved
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)


class IncidentPlotRow(StateBase):
    """The newest plot of an incident's anomalous series (PNG), one per incident."""

    __tablename__ = "cp_incident_plots"
    incident_id: Mapped[str] = mapped_column(ForeignKey("cp_incidents.id"), primary_key=True)
    at: Mapped[float] = mapped_column(Float)
    png: Mapped[bytes] = mapped_column(LargeBinary)


class ActionRow(StateBase):
    __tablename__ = "cp_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    leader: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: str
    region: str
    severity: str
    status: str
    opened_at: float
    updated_at: float
    resolved_at: float | None
    summary: str
    timeline: tuple[tuple[float, str, str, str], ...]  # (at, kind, severity, reason)
    has_plot: bool = False


_INCIDENT_EVENT = {ActionKind.OPEN_INCIDENT: "opened", ActionKind.UPDATE_INCIDENT: "updated",
                   ActionKind.RESOLVE_INCIDENT: "resolved"}



class StateStore:
    def __init__(self, url: str) -> None:
        engine: Engine | None = None
        try:
            engine = create_engine(url, pool_pre_ping=True)
            self.url = engine.url.render_as_string(hide_password=True)
            upgrade_state(engine)
        except (SQLAlchemyError, StateSchemaError) as exc:
            if engine is not None:
                engine.dispose()  # a store that fails to open keeps no pooled connection
            raise StoreError(f"state store {url!r} cannot be opened: {exc}; check "
                             "COVENANT_STATE_URL") from exc
        self._engine = engine
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    def close(self) -> None:
        self._engine.dispose()

    def record_cycle(self, at: float, observations: Iterable[RegionObservation],
                     verdicts: Sequence[Verdict], routed_to: Mapping[str, str]) -> None:
        # Bulk statements, not unit-of-work objects: this runs every cycle, and the ORM's
        # per-object bookkeeping (and merge's SELECT per region) was most of its CPU.
        by_region = {o.region: o for o in observations}
        latest = [{"region": v.region, "state": v.state.value, "at": at, "line": v.line,
                   "latency_s": o.latency_s if (o := by_region.get(v.region)) else None,
                   "error_ratio": o.error_ratio if o else 0.0,
                   "routed_to": routed_to.get(v.region, v.region)} for v in verdicts]
        with self._sessions.begin() as s:
            if by_region:
                s.execute(insert(ObservationRow), [
                    {"at": o.at, "region": o.region, "status": o.status.value,
                     "latency_s": o.latency_s, "requests": o.requests, "errors": o.errors,
                     "detail": o.detail, "latency_p99_s": o.latency_p99_s,
                     "request_rate": o.request_rate}
                    for o in by_region.values()])
            if verdicts:
                s.execute(insert(VerdictRow), [
                    {"at": at, "region": v.region, "state": v.state.value,
                     "changed": v.changed, "line": v.line} for v in verdicts])
            _upsert_regions(s, latest)

    def record_actions(self, at: float, actions: Sequence[Action], leader: str) -> None:
        with self._sessions.begin() as s:
            for a in actions:
                s.add(ActionRow(at=at, kind=a.kind.value, region=a.region, reason=a.reason,
                                leader=leader, payload=json.dumps(action_payload(a))))
                if a.kind in _INCIDENT_EVENT and a.incident_id:
                    _apply_incident(s, at, a)

    def prune(self, before: float) -> int:
        """Delete observations and verdicts older than ``before``; returns rows deleted."""
        with self._sessions.begin() as s:
            deleted = 0
            for table in (ObservationRow, VerdictRow):
                result = s.execute(delete(table).where(table.at < before))
                deleted += int(getattr(result, "rowcount", 0) or 0)
        return deleted

    def regions(self) -> list[RegionRow]:
        with self._sessions() as s:
            return list(s.scalars(select(RegionRow).order_by(RegionRow.region)))

    def actions(self, limit: int = 100) -> list[ActionRow]:
        with self._sessions() as s:
            return list(s.scalars(select(ActionRow).order_by(ActionRow.id.desc()).limit(limit)))

    def verdicts(self, limit: int = 100, changed_only: bool = False) -> list[VerdictRow]:
        query = select(VerdictRow).order_by(VerdictRow.id.desc()).limit(limit)
        if changed_only:
            query = query.where(VerdictRow.changed.is_(True))
        with self._sessions() as s:
            return list(s.scalars(query))

    def observation_count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count(ObservationRow.id))) or 0)

    def history(self, cycles: int) -> list[RegionObservation]:
        """The newest ``cycles`` observations of every region, oldest first, rebuilt as
        RegionObservations for the anomaly watch to replay after a restart (a row with
        requests counted is taken as scraped)."""
        query = select(ObservationRow).order_by(ObservationRow.id.desc())
        with self._sessions() as s:
            regions = int(s.scalar(select(func.count(func.distinct(ObservationRow.region))))
                          or 0)
            rows = list(s.scalars(query.limit(cycles * regions)))
        return [RegionObservation(row.region, row.at, ProbeStatus(row.status), row.latency_s,
                                  row.requests, row.errors, row.requests > 0, row.detail,
                                  row.request_rate, row.latency_p99_s)
                for row in reversed(rows)]

    def open_incidents(self) -> dict[str, OpenIncident]:
        """Open incidents by region: a new leader starts from these, not from nothing."""
        with self._sessions() as s:
            rows = s.scalars(select(IncidentRow).where(IncidentRow.status == "open"))
            # A database pair's incidents ("db-<region>-...") are controlplane.dbfailover's.
            return {r.region: OpenIncident(r.id, r.region, r.severity, r.opened_at)
                    for r in rows if not r.id.startswith("db-")}

    def save_plot(self, incident_id: str, at: float, png: bytes) -> None:
        """Attach (or replace) the plot of a recorded incident."""
        with self._sessions.begin() as s:
            if s.get(IncidentRow, incident_id) is None:
                raise StoreError(f"incident {incident_id!r} is not recorded; record its "
                                 "open action before attaching a plot")
            s.merge(IncidentPlotRow(incident_id=incident_id, at=at, png=png))

    def plot(self, incident_id: str) -> bytes | None:
        """The incident's PNG, or None when it has none."""
        with self._sessions() as s:
            row = s.get(IncidentPlotRow, incident_id)
            return None if row is None else row.png

    def incidents(self, status: str | None = None, limit: int = 100) -> list[IncidentView]:
        query = select(IncidentRow).order_by(IncidentRow.opened_at.desc()).limit(limit)
        if status:
            query = query.where(IncidentRow.status == status)
        with self._sessions() as s:
            rows = list(s.scalars(query))
            events = list(s.scalars(select(IncidentEventRow).where(
                IncidentEventRow.incident_id.in_([r.id for r in rows])
            ).order_by(IncidentEventRow.id)))
            plotted = set(s.scalars(select(IncidentPlotRow.incident_id).where(
                IncidentPlotRow.incident_id.in_([r.id for r in rows]))))
        timeline: dict[str, list[tuple[float, str, str, str]]] = {}
        for e in events:
            timeline.setdefault(e.incident_id, []).append((e.at, e.kind, e.severity, e.reason))
        return [IncidentView(r.id, r.region, r.severity, r.status, r.opened_at, r.updated_at,
                             r.resolved_at, r.summary, tuple(timeline.get(r.id, ())),
                             r.id in plotted)
                for r in rows]


def _apply_incident(s: Session, at: float, a: Action) -> None:
    assert a.incident_id is not None and a.region is not None
    kind = _INCIDENT_EVENT[a.kind]
    row = s.get(IncidentRow, a.incident_id)
    if row is None:
        row = IncidentRow(id=a.incident_id, region=a.region, severity=a.severity or "",
                          status="open", opened_at=at, updated_at=at, summary=a.reason)
        s.add(row)
        s.flush()
    row.updated_at = at
    if kind == "resolved":
        row.status, row.resolved_at = "resolved", at
    else:
        row.severity = a.severity or row.severity
    s.add(IncidentEventRow(incident_id=a.incident_id, at=at, kind=kind,
                           severity=a.severity or "", reason=a.reason))


def action_payload(a: Action) -> dict[str, object]:
    """The JSON-able form of an action, as stored and as published on the bus."""
    payload: dict[str, object] = {"kind": a.kind.value, "reason": a.reason}
    for key in ("region", "incident_id", "severity", "runbook"):
        if (value := getattr(a, key)) is not None:
            payload[key] = value
    if a.routes is not None:
        payload["routes"] = a.routes.as_dict()
    return payload


def _upsert_regions(s: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or replace each region's latest row: one statement where the dialect has
    ON CONFLICT (SQLite, PostgreSQL), ``merge`` elsewhere."""
    if not rows:
        return
    dialect = s.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        for row in rows:
            s.merge(RegionRow(**row))
        return
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(RegionRow).values(rows)
    columns = [key for key in rows[0] if key != "region"]
    s.execute(stmt.on_conflict_do_update(
        index_elements=[RegionRow.region], set_={c: stmt.excluded[c] for c in columns}))
