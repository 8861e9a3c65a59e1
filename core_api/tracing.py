"""OpenTelemetry: a server span per request, a client span per SQL statement, W3C traceparent.

Each app gets its own ``TracerProvider`` (tests build many apps in one process); spans are
exported over OTLP/HTTP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, otherwise they still
exist, so trace ids reach the logs and the ``traceparent`` response header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PROPAGATOR = TraceContextTextMapPropagator()
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def build_tracer_provider(
    region: str, exporter: SpanExporter | None = None, env: Mapping[str, str] | None = None
) -> TracerProvider:
    env = os.environ if env is None else env
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "covenant-core-api", "covenant.region": region}))
    if exporter is None and env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class _HeaderGetter(Getter[list[tuple[bytes, bytes]]]):
    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.lower().encode()
        values = [v.decode("latin-1") for k, v in carrier if k == wanted]
        return values or None

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier]


_GETTER = _HeaderGetter()


class TracingMiddleware:
    """Pure ASGI: continue the caller's trace, answer with our span's ``traceparent``."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = _PROPAGATOR.extract(scope["headers"], getter=_GETTER)
        method = scope["method"]
        with self.tracer.start_as_current_span(
            f"{method} {scope['path']}", context=parent, kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
            out = [(k.encode(), v.encode()) for k, v in carrier.items()]

            async def send_with_traceparent(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *out]
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_with_traceparent)
            finally:
                route = scope.get("route")
                if route is not None:
                    span.update_name(f"{method} {route.path}")
                    span.set_attribute("http.route", route.path)


def instrument_engine(engine: Engine, tracer: Tracer) -> None:
    """A CLIENT span around every SQL statement, child of the request's span."""
    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(_TRANSACTION_CONTROL):
            return  # BEGIN/COMMIT spans would double the span count and say little
        span = tracer.start_span(
            statement.split(None, 1)[0].upper() if statement else "SQL", kind=SpanKind.CLIENT,
            attributes={"db.system.name": system, "db.query.text": statement[:500]},
        )
        conn.info.setdefault("covenant_spans", []).append(span)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(_TRANSACTION_CONTROL):
            return
        spans = conn.info.get("covenant_spans")
        if spans:
            spans.pop().end()

    @event.listens_for(engine, "handle_error")
    def _error(context: Any) -> None:
        spans = context.connection.info.get("covenant_spans") if context.connection else None
        if spans:
            span = spans.pop()
            span.set_status(Status(StatusCode.ERROR, str(context.original_exception)[:200]))
            span.end()


def current_trace_ids() -> tuple[str, str] | None:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
