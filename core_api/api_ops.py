"""Probes and metrics: /live (process), /ready (database and migrations), /health (details)."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from core_api import migrate
from core_api.services import JsonBytes, Services, json_response, services

logger = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


class DatabaseHealth(BaseModel):
    dialect: str
    reachable: bool
    revision: str | None
    head: str | None
    error: str | None = None


class Health(BaseModel):
    status: str
    region: str
    started_at: datetime
    uptime_s: float
    database: DatabaseHealth
    cache: str
    event_bus: str


class Readiness(BaseModel):
    ready: bool
    reason: str


def check_database(s: Services) -> DatabaseHealth:
    head = migrate.head_revision()
    try:
        with s.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = migrate.current_revision(conn)
            conn.rollback()
    except Exception as exc:  # any driver error means "not reachable", reported not raised
        logger.warning("database of %s unreachable: %s", s.region, exc)
        return DatabaseHealth(dialect=s.db.engine.dialect.name, reachable=False, revision=None,
                              head=head, error=str(exc).splitlines()[0][:200])
    return DatabaseHealth(dialect=s.db.engine.dialect.name, reachable=True, revision=revision,
                          head=head)


@router.get("/live", response_model=Readiness)
async def live() -> JsonBytes:
    return JsonBytes(b'{"ready":true,"reason":"process is running"}')


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(request: Request) -> JsonBytes:
    s = services(request)
    db = check_database(s)
    if not db.reachable:
        return json_response(Readiness(ready=False, reason=f"database unreachable: {db.error}"),
                             503)
    if db.revision != db.head:
        reason = f"migrations at {db.revision}, head is {db.head}: run `covenant db upgrade`"
        return json_response(Readiness(ready=False, reason=reason), 503)
    return json_response(Readiness(ready=True, reason="database reachable, migrations at head"))


@router.get("/health", response_model=Health)
def health(request: Request) -> JsonBytes:
    s = services(request)
    db = check_database(s)
    now = datetime.now(s.started_at.tzinfo)
    ok = db.reachable and db.revision == db.head
    return json_response(Health(
        status="ok" if ok else "degraded", region=s.region, started_at=s.started_at,
        uptime_s=round((now - s.started_at).total_seconds(), 3), database=db,
        cache="redis" if s.settings.redis_url else "none",
        event_bus="nats" if s.settings.nats_url else "in-process",
    ))


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}})
def metrics(request: Request) -> Response:
    s = services(request)
    return Response(generate_latest(s.metrics.registry), media_type=CONTENT_TYPE_LATEST)
