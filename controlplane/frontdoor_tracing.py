"""The front door's span per routed request, when tracing is on.

The front door continues the client's trace (its ``traceparent``) or starts one, makes one
SERVER span for the whole relay — every attempt, retries and a followed 421 included — named
``frontdoor GET /v1/countries/{iso3}``, and relays the request with a ``traceparent`` naming
that span, so the region's spans are its children. With tracing off the front door has no
``RelayTracer`` (``Door.tracing`` is None), relays the client's ``traceparent`` untouched
as any end-to-end header, and does nothing more per request than before.

The span name is a route template with bounded cardinality: the front door cannot import
the core API's routes, so literal path segments are the words below and any other segment
becomes the parameter named after the word before it (``/v1/projects/syd-61`` ->
``/v1/projects/{project_id}``); a test checks every core API route comes out as its own
template.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from core_api.contract import CHAOS_FAULT_PATH, METRICS_PATH, PROBE_PATHS
from kernel.tracing import remote_parent

SERVICE_NAME = "covenant-frontdoor"
# The literal words of the core API's paths; every other segment is a parameter.
WORDS = frozenset({"v1", "countries", "projects", "users", "regions", "sectors",
                   "contributions", "statistics", "rankings", "profit-split",
                   *(p.strip("/") for p in (*PROBE_PATHS, METRICS_PATH)),
                   *CHAOS_FAULT_PATH.strip("/").split("/")})
# A parameter's name after the word before it (as the core API's routes name them).
PARAMS: Mapping[str, str] = MappingProxyType({
    "countries": "iso3", "projects": "project_id", "users": "user_id", "regions": "code",
    "sectors": "sector", "rankings": "metric"})
PARAM = "id"


def span_route(path: str) -> str:
    """The route template of ``path``, pure: ``/v1/countries/AUS`` ->
    ``/v1/countries/{iso3}``."""
    out, before = [], ""
    for segment in path.split("/")[1:]:
        if not segment or segment in WORDS:
            out.append(segment)
            before = segment
        else:
            out.append("{" + PARAMS.get(before, PARAM) + "}")
            before = ""
    return "/" + "/".join(out)


class RelaySpan:
    """One request's span, and the ``traceparent`` header line relayed with it."""

    __slots__ = ("span", "header", "attempts")

    def __init__(self, span: Span) -> None:
        self.span = span
        ctx = span.get_span_context()
        self.header = b"traceparent: 00-%032x-%016x-%02x\r\n" % (
            ctx.trace_id, ctx.span_id, ctx.trace_flags)
        self.attempts = 0

    def tried(self) -> None:
        self.attempts += 1

    def answered(self, status: int, served: str) -> None:
        """The answer's status and the region that served it ("none": the front door)."""
        span = self.span
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("covenant.served_by", served)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))

    def end(self, error: str = "") -> None:
        """The answer is written (or ``error``: the exchange broke off)."""
        span = self.span
        if self.attempts:
            span.set_attribute("covenant.attempts", self.attempts)
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


class RelayTracer:
    """Starts the span of each routed request (``tracer``: the front door process's)."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def start(self, method: str, path: str, traceparent: str, home: str,
              routing: str) -> RelaySpan:
        route = span_route(path)
        parent = remote_parent(traceparent) if traceparent else None
        return RelaySpan(self.tracer.start_span(
            f"frontdoor {method} {route}", context=parent, kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route,
                        "url.path": path, "covenant.home_region": home,
                        "covenant.routing": routing}))
