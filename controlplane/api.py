"""The control plane's HTTP API: regions, incidents, actions, routes, health and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import BaseModel
from starlette.routing import BaseRoute

from controlplane.auth import Guard
from controlplane.routing import RouteTable
from controlplane.store import StateStore


class ProcessPublic(BaseModel):
    """The region API's process as ``covenant up`` supervises it (absent elsewhere)."""

    pid: int | None
    restarts: int
    last_exit: str | None  # e.g. "killed by SIGKILL", "exit 1"; None: never exited
    running: bool


class RegionPublic(BaseModel):
    region: str
    state: str
    at: float
    line: str
    latency_ms: float | None
    error_ratio: float
    routed_to: str
    process: ProcessPublic | None = None


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
    runs: list[int] = []  # the runbook runs that worked on it, oldest first


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


ProcessSource = Callable[[], Mapping[str, ProcessPublic]]  # region -> its process
IncidentRuns = Callable[[list[str]], Awaitable[Mapping[str, list[int]]]]  # id -> its runs


@dataclass(frozen=True, slots=True)
class ApiExtras:
    """What the composition root adds: the key guard, the runs/webhook/keys routers, the
    hot routes (served ahead of FastAPI's: the Alertmanager webhook), and the runs of each
    incident."""

    guard: Guard | None = None
    routers: Sequence[APIRouter] = ()
    incident_runs: IncidentRuns | None = None
    hot: Sequence[BaseRoute] = ()


def create_api(store: StateStore, registry: CollectorRegistry,
               routes: Callable[[], RouteTable | None],
               health: Callable[[], HealthPublic], order: Sequence[str] = (),
               processes: ProcessSource | None = None, *, guard: Guard | None = None,
               routers: Sequence[APIRouter] = (),
               incident_runs: IncidentRuns | None = None,
               hot: Sequence[BaseRoute] = ()) -> FastAPI:
    """The API. With a ``guard`` every route follows controlplane.access (API keys); the
    ``routers`` (runs, webhook, keys) are added under the same guard. The ``hot`` routes
    (plain Starlette routes that check their keys themselves, with the same guard) are
    matched first, without FastAPI's dependency handling: what a route called hundreds of
    times a second saves."""
    rank = {name: i for i, name in enumerate(order)}
    app = FastAPI(title="Covenant control plane", version="1",
                  dependencies=[Depends(guard)] if guard is not None else [])

    @app.get("/v1/regions", response_model=list[RegionPublic])
    async def regions() -> list[RegionPublic]:
        rows = sorted(await asyncio.to_thread(store.regions),
                      key=lambda r: (rank.get(r.region, len(rank)), r.region))
        procs = processes() if processes is not None else {}
        return [RegionPublic(region=r.region, state=r.state, at=r.at, line=r.line,
                             latency_ms=None if r.latency_s is None else r.latency_s * 1000,
                             error_ratio=r.error_ratio, routed_to=r.routed_to,
                             process=procs.get(r.region)) for r in rows]

    @app.get("/v1/incidents", response_model=list[IncidentPublic])
    async def incidents(status: str | None = Query(default=None, pattern="^(open|resolved)$"),
                        limit: int = Query(default=100, ge=1, le=1000)) -> list[IncidentPublic]:
        views = await asyncio.to_thread(store.incidents, status, limit)
        runs = await incident_runs([v.id for v in views]) if incident_runs else {}
        return [IncidentPublic(
            id=v.id, region=v.region, severity=v.severity, status=v.status,
            opened_at=v.opened_at, updated_at=v.updated_at, resolved_at=v.resolved_at,
            summary=v.summary, timeline=[IncidentEventPublic(at=a, kind=k, severity=s, reason=r)
                                         for a, k, s, r in v.timeline],
            plot_url=f"/v1/incidents/{v.id}/plot.png" if v.has_plot else None,
            runs=runs.get(v.id, []))
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

    for router in routers:
        app.include_router(router)
    app.router.routes[0:0] = hot  # before everything: FastAPI's own route of a path too
    return app
