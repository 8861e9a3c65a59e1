"""``create_app(settings, region)``: one region's core API as an ASGI app.

The control plane's ``covenant up`` and ``covenant api`` both call this. Nothing connects at
build time; the lifespan starts the event pipeline (outbox relay, bus, cache invalidator) and
disposes of the engine on shutdown. Migrations are not run here: ``covenant db upgrade`` (or
``covenant api``, which prepares the database first) does that, and ``/ready`` reports it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from starlette.routing import BaseRoute, Route

from core_api import (
    api_chaos,
    api_ops,
    api_projects,
    api_reference,
    api_statistics,
    api_users,
    fast_routes,
    http_errors,
)
from core_api.body_limit import BodyLimitMiddleware
from core_api.cache import RedisCache
from core_api.database import Database
from core_api.dependencies import DependencyCollector, DependencyWatch
from core_api.errors import ConfigurationError
from core_api.faults import FaultMiddleware
from core_api.metrics import MetricsMiddleware, StateCollector
from core_api.outbox import count_pending
from core_api.regions import REGION_CODES
from core_api.services import Services
from core_api.tracing import TracingMiddleware, build_tracer_provider, instrument_engine
from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.heap import settle_heap
from kernel.settings import Settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, region: str, database: Database | None = None,
    span_exporter: SpanExporter | None = None, clock: Clock = SYSTEM_CLOCK,
) -> FastAPI:
    """The API of ``region``. ``database`` overrides the one ``settings`` point to,
    ``span_exporter`` the OTLP exporter chosen by ``settings.otlp_endpoint`` (or
    ``OTEL_EXPORTER_OTLP_ENDPOINT``) and ``clock`` the system clock (tests)."""
    if region not in REGION_CODES:
        raise ConfigurationError(
            f"region {region!r} is not one of {', '.join(REGION_CODES)}; pass --region ams etc."
        )
    if settings.fault_injection and settings.environment == "production":
        raise ConfigurationError(
            "fault_injection is on in environment 'production': a production API must not "
            "let anyone make it fail; unset COVENANT_FAULT_INJECTION")
    db = database or Database.for_region(settings, region)
    services = Services.build(settings, region, db, clock=clock)
    tracer_provider = build_tracer_provider(region, exporter=span_exporter,
                                            endpoint=settings.tracing.otlp_endpoint)
    tracer = tracer_provider.get_tracer("core_api")
    instrument_engine(db.engine, tracer)
    services.metrics.registry.register(
        StateCollector(region, db.engine, lambda: _outbox_pending(db, region)))
    services.metrics.registry.register(DependencyCollector(region, services.dependencies))

    app = FastAPI(
        title=f"Covenant core API ({region})",
        version="1.0.0",
        description="Countries, GDP-based contributions, projects in six sectors and their "
        "50/30/20 profit split, served by one of six regions.",
        lifespan=_lifespan(services, tracer_provider, dispose=database is None),
    )
    app.state.services = services
    # Routes are matched in order: the busiest first (projects), the probes last.
    routers = [api_projects.router, api_reference.router, api_statistics.router,
               api_users.router, api_ops.router]
    if settings.fault_injection:
        routers.append(api_chaos.router)
    for router in routers:
        app.include_router(router)
    fast_routes.install(app)
    http_errors.install(app)
    # Added inside-out: metrics is outermost, so it also times 413s, injected faults and
    # tracing.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    if settings.fault_injection:
        # FastAPI includes routers lazily, so the middleware matches their own routes, after
        # the app's plain ones (the fast routes first), in the router's order.
        routes: list[BaseRoute] = [r for r in app.router.routes if isinstance(r, Route)]
        routes += [r for router in routers for r in router.routes]
        app.add_middleware(FaultMiddleware, switch=services.faults, routes=routes)
    app.add_middleware(TracingMiddleware, tracer=tracer)
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
    return app


def _lifespan(
    services: Services, tracer_provider: TracerProvider, dispose: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the event pipeline on startup; stop it, the writer and the engine on shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from core_api.events import build_event_pipeline

        db, region = services.db, services.region
        pipeline = build_event_pipeline(services.settings, region, db.writes, services.cache)
        await pipeline.start()
        cache = services.cache
        watch = DependencyWatch(services.dependencies,
                                cache.ping if isinstance(cache, RedisCache) else None,
                                pipeline.bus)
        await watch.start()
        # Objects built at startup (routes, schemas, reference data) live for the whole
        # process: moving them out of the collector's reach keeps full collections short.
        settle_heap()
        logger.info("core API of %s started (%s)", region, db.engine.dialect.name)
        try:
            yield
        finally:
            await watch.stop()
            await pipeline.stop()
            services.close()
            tracer_provider.shutdown()
            if dispose:
                db.dispose()

    return lifespan


def _outbox_pending(db: Database, region: str) -> int:
    # A plain read connection: the pipeline's sessions would take SQLite's write lock.
    with db.read() as conn:
        return count_pending(conn, region)
