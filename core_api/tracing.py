"""OpenTelemetry: a server span per request, a client span per SQL statement, W3C traceparent.

Each app gets its own ``TracerProvider`` (tests build many apps in one process); spans are
exported over OTLP/HTTP only when ``settings.otlp_endpoint`` (``COVENANT_OTLP_ENDPOINT``) or
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (``kernel.tracing``), otherwise they still exist, so
trace ids reach the logs and the ``traceparent`` response header. A request relayed by the
front door carries the front door's span as its ``traceparent``: the region's server span
is its child, and each SQL statement's span a child of that (docs/tracing.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel import tracing

SERVICE_NAME = "covenant-core-api"
_PROPAGATOR = TraceContextTextMapPropagator()
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def build_tracer_provider(
    region: str, exporter: SpanExporter | None = None, env: Mapping[str, str] | None = None,
    endpoint: str | None = None,
) -> TracerProvider:
    """The region's provider: ``exporter`` (tests), else OTLP/HTTP to ``endpoint`` (the
    setting, a base URL) or to what ``env``'s ``OTEL_EXPORTER_OTLP_*`` say; else no export."""
    return tracing.build_tracer_provider(
        SERVICE_NAME, {"covenant.region": region}, tracing.traces_endpoint(endpoint, env),
        exporter)


class TracingMiddleware:
    """Pure ASGI: continue the caller's trace, answer with our span's ``traceparent``.

    Written for the hot path: the propagator runs only when a ``traceparent`` came in, and
    the outgoing header is formatted straight from the span context.
    """

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                parent = _PROPAGATOR.extract({"traceparent": value.decode("latin-1")})
                break
        method = scope["method"]
        span = self.tracer.start_span(
            f"{method} {scope['path']}", context=parent, kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        ctx = span.get_span_context()
        header = (b"traceparent", b"00-%032x-%016x-%02x" % (
            ctx.trace_id, ctx.span_id, ctx.trace_flags))

        async def send_with_traceparent(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
                status = message["status"]
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send_with_traceparent)
        finally:
            otel_context.detach(token)
            route = scope.get("route")
            if route is not None:
                span.update_name(f"{method} {route.path}")
                span.set_attribute("http.route", route.path)
            span.end()


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
