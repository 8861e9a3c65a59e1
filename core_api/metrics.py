"""RED metrics, DB pool and outbox gauges on a registry of the app's own.

The middleware is plain ASGI (no ``BaseHTTPMiddleware`` task and queue per request) and
caches the labelled children, so recording a request is two dictionary lookups and two
increments. Routes are labelled by template (``/v1/projects/{project_id}``), never by raw
path, which keeps the label set bounded; requests that match no route share ``<unmatched>``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from time import perf_counter

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core_api import contract

logger = logging.getLogger(__name__)

BUCKETS = contract.DURATION_BUCKETS
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = contract.UNMATCHED_ROUTE


class ApiMetrics:
    def __init__(self, region: str, registry: CollectorRegistry | None = None) -> None:
        self.region = region
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            contract.REQUESTS, "HTTP requests served.", contract.RED_LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            contract.DURATION, "Time from request to the end of the response.",
            contract.RED_LABELS, buckets=BUCKETS, registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (self.region, route, method, str(status))
            children = (self.requests.labels(*labels), self.duration.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class StateCollector(Collector):
    """DB pool and outbox gauges, read at scrape time."""

    def __init__(self, region: str, engine: Engine, outbox_pending: Callable[[], int]) -> None:
        self._region = region
        self._engine = engine
        self._outbox_pending = outbox_pending

    def collect(self) -> Iterator[Metric]:
        pool = GaugeMetricFamily(
            contract.DB_POOL, "Database connection pool, by state.",
            labels=("region", "state"),
        )
        for state, value in _pool_figures(self._engine).items():
            pool.add_metric((self._region, state), value)
        yield pool
        try:
            pending = self._outbox_pending()
        except Exception as exc:  # a scrape must not fail because the database is down
            logger.warning("outbox pending count unavailable: %s", exc)
            return
        gauge = GaugeMetricFamily(
            contract.OUTBOX_PENDING, "Committed events not yet published.", labels=("region",)
        )
        gauge.add_metric((self._region,), pending)
        yield gauge


def _pool_figures(engine: Engine) -> dict[str, float]:
    pool = engine.pool
    figures: dict[str, float] = {}
    for state, name in (("size", "size"), ("checked_out", "checkedout"),
                        ("checked_in", "checkedin"), ("overflow", "overflow")):
        method = getattr(pool, name, None)
        if callable(method):
            figures[state] = float(method())
    if "overflow" in figures:  # QueuePool counts unused overflow slots as negative
        figures["overflow"] = max(0.0, figures["overflow"])
    return figures


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED) if route is not None else UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.observe(template, method, status, perf_counter() - start)
