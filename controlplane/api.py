"""The control plane's HTTP API: regions, incidents, actions, routes, health and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import BaseModel

from controlplane.routing import RouteTable
from controlplane.store import StateStore


class RegionPublic(BaseModel):
    region: str
    state: str
    at: float
    line: str
    latency_ms: float | None
    error_ratio: float
    routed_to: str


class IncidentEventPublic(BaseModel):
    at: float
    kind: str
    severity: str
    reason: str


class IncidentPublic(BaseModel):
    id: str
    region: str
    severity: str
    status: str
    opened_at: float
    updated_at: float
    resolved_at: float | None
    summary: str
    timeline: list[IncidentEventPublic]
    plot_url: str | None = None  # /v1/incidents/{id}/plot.png when a plot is attached


class ActionPublic(BaseModel):
    id: int
    at: float
    kind: str
    region: str | None
    reason: str
    leader: str


class HealthPublic(BaseModel):
    status: str
    leader: bool
    passes: int


def create_api(store: StateStore, registry: CollectorRegistry,
               routes: Callable[[], RouteTable | None],
               health: Callable[[], HealthPublic], order: Sequence[str] = ()) -> FastAPI:
    rank = {name: i for i, name in enumerate(order)}
    app = FastAPI(title="Covenant control plane", version="1")

    @app.get("/v1/regions", response_model=list[RegionPublic])
    async def regions() -> list[RegionPublic]:
        rows = sorted(await asyncio.to_thread(store.regions),
                      key=lambda r: (rank.get(r.region, len(rank)), r.region))
        return [RegionPublic(region=r.region, state=r.state, at=r.at, line=r.line,
                             latency_ms=None if r.latency_s is None else r.latency_s * 1000,
                             error_ratio=r.error_ratio, routed_to=r.routed_to) for r in rows]

    @app.get("/v1/incidents", response_model=list[IncidentPublic])
    async def incidents(status: str | None = Query(default=None, pattern="^(open|resolved)$"),
                        limit: int = Query(default=100, ge=1, le=1000)) -> list[IncidentPublic]:
        views = await asyncio.to_thread(store.incidents, status, limit)
        return [IncidentPublic(
            id=v.id, region=v.region, severity=v.severity, status=v.status,
            opened_at=v.opened_at, updated_at=v.updated_at, resolved_at=v.resolved_at,
            summary=v.summary, timeline=[IncidentEventPublic(at=a, kind=k, severity=s, reason=r)
                                         for a, k, s, r in v.timeline],
            plot_url=f"/v1/incidents/{v.id}/plot.png" if v.has_plot else None)
            for v in views]

    @app.get("/v1/incidents/{incident_id}/plot.png", response_class=Response,
             responses={200: {"content": {"image/png": {}}}, 404: {}})
    async def incident_plot(incident_id: str) -> Response:
        png = await asyncio.to_thread(store.plot, incident_id)
        if png is None:
            raise HTTPException(404, f"incident {incident_id!r} has no plot: only an incident "
                                "opened or updated during a sustained anomaly carries one")
        return Response(png, media_type="image/png")

    @app.get("/v1/actions", response_model=list[ActionPublic])
    async def actions(limit: int = Query(default=100, ge=1, le=1000)) -> list[ActionPublic]:
        rows = await asyncio.to_thread(store.actions, limit)
        return [ActionPublic(id=r.id, at=r.at, kind=r.kind, region=r.region, reason=r.reason,
                             leader=r.leader) for r in rows]

    @app.get("/v1/routes")
    async def current_routes() -> dict[str, dict[str, int]]:
        table = routes()
        return table.as_dict() if table else {}

    @app.get("/health", response_model=HealthPublic)
    async def get_health() -> HealthPublic:
        return health()

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    return app
