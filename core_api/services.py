"""What a region's request handlers use, built once per app; ``services(request)`` finds it."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core_api.cache import Cache, build_cache
from core_api.catalog import Catalog
from core_api.contributions import ContributionPolicy
from core_api.database import Database
from core_api.dependencies import DependencyStatus
from core_api.faults import FaultSwitch
from core_api.idempotency import IdempotencyLedger, InFlightKeys
from core_api.metrics import ApiMetrics
from core_api.projects import JSON_OPTIONS, ProjectStore
from core_api.statistics import Statistics
from core_api.users import UserStore
from kernel.clock import SYSTEM_CLOCK, Clock, utcnow
from kernel.settings import Settings

CACHE_TTL_S = 60.0
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Services:
    region: str
    settings: Settings
    catalog: Catalog
    db: Database
    cache: Cache
    metrics: ApiMetrics
    projects: ProjectStore
    users: UserStore
    stats: Statistics
    ledger: IdempotencyLedger
    started_at: datetime
    writer: ThreadPoolExecutor | None = None
    faults: FaultSwitch = field(default_factory=FaultSwitch)  # used with fault_injection
    in_flight: InFlightKeys = field(default_factory=InFlightKeys)
    # Whether Redis and NATS answered last (core_api.dependencies); /metrics exports it.
    dependencies: DependencyStatus = field(default_factory=DependencyStatus)

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking database reads: inline for SQLite, in a worker thread otherwise."""
        if self.db.inline:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a write transaction off the loop: a SQLite writer may wait for the lock (the
        outbox relay takes it too), and that wait must not stall every other request.
        SQLite has one writer at a time anyway, so its writes queue on one thread rather
        than spinning in busy-waits on many; other databases use the shared pool."""
        if self.writer is None:
            return await run_in_threadpool(fn, *args, **kwargs)
        call = functools.partial(fn, *args, **kwargs)
        context = contextvars.copy_context()  # carries the request's span to the thread
        return await asyncio.get_running_loop().run_in_executor(self.writer, context.run, call)

    @classmethod
    def build(cls, settings: Settings, region: str, db: Database, cache: Cache | None = None,
              clock: Clock = SYSTEM_CLOCK) -> Services:
        catalog = Catalog.build(ContributionPolicy(
            settings.contribution_fund_usd, settings.contribution_floor_usd))
        return cls(
            region=region, settings=settings, catalog=catalog, db=db,
            cache=cache if cache is not None else build_cache(settings, region),
            metrics=ApiMetrics(region), projects=ProjectStore(db, region, clock),
            users=UserStore(db, region, clock), stats=Statistics(db, region, catalog),
            ledger=IdempotencyLedger(db, region, clock), started_at=utcnow(clock),
            writer=ThreadPoolExecutor(1, thread_name_prefix=f"{region}-writer")
            if db.inline else None,
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.shutdown(wait=True)


def services(request: Request) -> Services:
    """The app's services. A plain call rather than a FastAPI dependency: resolving a
    dependency per request cost more than serving a country (measured, see bench)."""
    return services_of_app(request.app)


def services_of_app(app: Any) -> Services:
    found: Services = app.state.services
    return found


class JsonBytes(Response):
    media_type = "application/json"


def view_response(view: object, status_code: int = 200) -> JsonBytes:
    """Serialise dataclass views with orjson, timestamps exactly as pydantic writes them."""
    return JsonBytes(orjson.dumps(view, option=JSON_OPTIONS), status_code=status_code)


def json_response(model: BaseModel, status_code: int = 200) -> JsonBytes:
    """Serialise with pydantic-core directly, skipping FastAPI's second validation pass."""
    return JsonBytes(model.model_dump_json().encode(), status_code=status_code)
