"""The incident desk runbooks use: open, annotate and escalate the incidents of the state
store (the same ``cp_incidents`` the reconciler opens and ``/v1/incidents`` serves).

Notes and escalations go on the incident's timeline (kinds ``note`` and ``escalated``).
An incident a runbook opens is recorded like the reconciler's; the reconciler resolves the
incidents it opened itself when their region is healthy again, and picks up the others when
a new leader starts. Synchronous (SQLAlchemy); the actuators call it in a worker thread.
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from controlplane.store import IncidentEventRow, IncidentRow
from kernel.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


class IncidentDesk:
    def __init__(self, url: str | None = None, engine: Engine | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self._engine = engine or create_engine(str(url), pool_pre_ping=_ping(url))
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._clock = clock

    def close(self) -> None:
        self._engine.dispose()

    def open_incident(self, region: str) -> tuple[str, str] | None:
        """(id, severity) of the region's open incident, None when none is open."""
        with self._sessions() as s:
            row = _open(s, region)
            return (row.id, row.severity) if row else None

    def open(self, region: str, severity: str, title: str) -> tuple[str, bool]:
        """(the region's open incident, whether this call opened it)."""
        now = self._clock.time()
        with self._sessions.begin() as s:
            row = _open(s, region)
            if row is not None:
                return row.id, False
            incident_id = f"inc-{region}-{int(now * 1000)}"
            s.add(IncidentRow(id=incident_id, region=region, severity=severity, status="open",
                              opened_at=now, updated_at=now, summary=title))
            s.flush()
            s.add(IncidentEventRow(incident_id=incident_id, at=now, kind="opened",
                                   severity=severity, reason=title))
        log.info("incident %s opened in %s: %s", incident_id, region, title)
        return incident_id, True

    def annotate(self, region: str, note: str) -> str | None:
        """Add ``note`` to the region's open incident; its id, None when none is open."""
        now = self._clock.time()
        with self._sessions.begin() as s:
            row = _open(s, region)
            if row is None:
                return None
            row.updated_at = now
            s.add(IncidentEventRow(incident_id=row.id, at=now, kind="note",
                                   severity=row.severity, reason=note))
            return row.id

    def raise_severity(self, region: str, severity: str, reason: str) -> str | None:
        """Raise the region's open incident to ``severity``; its id, None when none is open
        (an escalation then pages without opening an incident nobody would close: the
        reconciler resolves the incidents it opens, when their region is healthy again)."""
        now = self._clock.time()
        with self._sessions.begin() as s:
            row = _open(s, region)
            if row is None:
                return None
            row.severity, row.updated_at = severity, now
            s.add(IncidentEventRow(incident_id=row.id, at=now, kind="escalated",
                                   severity=severity, reason=reason))
            incident_id = row.id
        log.warning("incident %s in %s raised to %s: %s", incident_id, region, severity,
                    reason)
        return incident_id


def _open(s: Session, region: str) -> IncidentRow | None:
    query = (select(IncidentRow).where(IncidentRow.region == region,
                                       IncidentRow.status == "open")
             .order_by(IncidentRow.opened_at.desc()).limit(1))
    return s.scalar(query)


def _ping(url: str | None) -> bool:
    """Check a pooled connection before use, except on SQLite (a file: nothing to lose)."""
    return not str(url).startswith("sqlite")
