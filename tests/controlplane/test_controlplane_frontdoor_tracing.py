"""The front door's spans on real sockets (scripted raw origins): one SERVER span per routed
request, continuing the client's trace or starting one, relayed as the ``traceparent`` the
region sees; none of it when tracing is off. And the span names' route templates against
every route the core API serves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.routing import Route

from controlplane.frontdoor import FrontDoor
from controlplane.frontdoor_config import FrontDoorConfig
from controlplane.frontdoor_reader import RequestReader
from controlplane.frontdoor_state import Request
from controlplane.frontdoor_tracing import span_route
from core_api import api_chaos, api_ops, api_projects, api_reference, api_statistics, api_users
from tests.controlplane.test_controlplane_frontdoor import ALL_HOME, config
from tests.frontdoor_origins import Handler, Seen, origins, response

CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
CLIENT = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[13]$")  # sampled (random)


@contextmanager
def memory_tracer() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider, exporter
    finally:
        provider.shutdown()


@asynccontextmanager
async def door_with(cfg: FrontDoorConfig, provider: TracerProvider | None
                    ) -> AsyncIterator[tuple[FrontDoor, httpx.AsyncClient]]:
    door = FrontDoor(cfg, provider.get_tracer("test") if provider else None)
    await door.start()
    try:
        async with httpx.AsyncClient(base_url=door.url, timeout=10) as client:
            yield door, client
    finally:
        await door.stop()


def ok(_seen: Seen) -> bytes:
    return response(200, b'{"ok":true}')


async def answer_ok(seen: Seen) -> bytes:
    return ok(seen)


async def busy(_seen: Seen) -> bytes:
    return response(503, b'{"detail":"busy"}')


def parent_of(seen: Seen) -> tuple[str, str]:
    found = TRACEPARENT.match(seen.headers["traceparent"])
    assert found, seen.headers
    return found.group(1), found.group(2)


def only(spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


async def test_continues_the_clients_trace_and_names_its_span_as_the_regions_parent() -> None:
    handlers: dict[str, Handler] = {"syd": answer_ok}
    with memory_tracer() as (provider, exported):
        async with origins(handlers) as got, \
                door_with(config({"syd": got["syd"].url}), provider) as (_door, client):
            r = await client.get("/v1/countries/AUS", headers={"traceparent": CLIENT})
            assert r.status_code == 200
        span = only(exported.get_finished_spans())
    assert span.name == "frontdoor GET /v1/countries/{iso3}"
    assert span.kind is SpanKind.SERVER
    assert span.parent is not None and span.parent.is_remote
    assert (format(span.context.trace_id, "032x"), format(span.parent.span_id, "016x")) == \
        (CLIENT_TRACE, CLIENT_SPAN)
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET", "http.route": "/v1/countries/{iso3}",
        "url.path": "/v1/countries/AUS", "covenant.home_region": "syd",
        "covenant.routing": "reference", "covenant.served_by": "syd",
        "http.response.status_code": 200, "covenant.attempts": 1}
    # The region is told the front door's span is its parent, in the client's trace.
    assert parent_of(got["syd"].seen[0]) == (CLIENT_TRACE, format(span.context.span_id, "016x"))


async def test_starts_a_trace_and_counts_retries_in_one_span() -> None:
    handlers: dict[str, Handler] = {"syd": busy, "sin": answer_ok}
    with memory_tracer() as (provider, exported):
        async with origins(handlers) as got, \
                door_with(config({r: o.url for r, o in got.items()}), provider) as (_d, client):
            r = await client.get("/v1/countries/AUS")
            assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "sin")
        span = only(exported.get_finished_spans())
    assert span.parent is None  # no traceparent came in: a new trace
    attributes = span.attributes or {}
    assert (attributes["covenant.attempts"], attributes["covenant.served_by"]) == (2, "sin")
    # Both attempts carried the same parent: the one span of the whole relay.
    mine = (format(span.context.trace_id, "032x"), format(span.context.span_id, "016x"))
    assert parent_of(got["syd"].seen[0]) == parent_of(got["sin"].seen[0]) == mine


async def test_an_answer_the_front_door_makes_itself_is_an_error_span() -> None:
    with memory_tracer() as (provider, exported):
        async with origins({"syd": answer_ok}) as got, \
                door_with(config({"syd": got["syd"].url}), provider) as (door, client):
            door.door.set_routes(ALL_HOME | {"syd": {"sin": 100}})  # syd routed away
            r = await client.post("/v1/projects", json={"country": "AUS"},
                                  headers={"traceparent": CLIENT})
            assert r.status_code == 503
            assert got["syd"].seen == []
        span = only(exported.get_finished_spans())
    assert span.name == "frontdoor POST /v1/projects"
    attributes = span.attributes or {}
    assert (attributes["covenant.served_by"], attributes["http.response.status_code"]) == \
        ("none", 503)
    assert span.status.status_code is StatusCode.ERROR
    assert format(span.context.trace_id, "032x") == CLIENT_TRACE


async def test_fan_out_passes_the_span_to_every_region() -> None:
    async def page(_seen: Seen) -> bytes:
        return response(200, b'{"items":[],"total":0,"limit":50,"offset":0}')

    regions = ("ams", "iad", "syd", "sin", "sfo", "jnb")
    with memory_tracer() as (provider, exported):
        async with origins(dict.fromkeys(regions, page)) as got, \
                door_with(config({r: o.url for r, o in got.items()}), provider) as (_d, client):
            assert (await client.get("/v1/users")).status_code == 200
        span = only(exported.get_finished_spans())
    mine = (format(span.context.trace_id, "032x"), format(span.context.span_id, "016x"))
    assert {parent_of(o.seen[0]) for o in got.values()} == {mine}
    assert (span.attributes or {})["covenant.served_by"] == "all"


async def test_tracing_off_relays_the_clients_traceparent_untouched() -> None:
    async with origins({"syd": answer_ok}) as got, \
            door_with(config({"syd": got["syd"].url}), None) as (door, client):
        assert door.door.tracing is None
        await client.get("/v1/countries/AUS", headers={"traceparent": CLIENT})
        await client.get("/v1/countries/AUS")
    assert got["syd"].seen[0].headers["traceparent"] == CLIENT
    assert "traceparent" not in got["syd"].seen[1].headers


def read(traced: bool, raw: bytes) -> Request:
    got: list[Request] = []

    class Reader(RequestReader):
        def dispatch(self, req: Request) -> None:
            got.append(req)

    Reader(1024, traced=traced).data_received(raw)
    return got[0]


def test_a_traced_reader_keeps_the_clients_traceparent_apart() -> None:
    raw = (b"GET /v1/countries/AUS HTTP/1.1\r\nhost: x\r\ntraceparent: " + CLIENT.encode()
           + b"\r\ntracestate: k=v\r\n\r\n")
    traced, plain = read(True, raw), read(False, raw)
    assert traced.traceparent == CLIENT
    assert not any(line.lower().startswith(b"traceparent") for line in traced.headers)
    assert b"tracestate: k=v\r\n" in traced.headers  # relayed as it came
    assert plain.traceparent == "" and f"traceparent: {CLIENT}\r\n".encode() in plain.headers


def test_span_names_are_the_core_apis_own_route_templates() -> None:
    """Every route the core API serves, filled in with a real-looking value per parameter,
    comes out as its template: the front door's span and the region's have alike names."""
    values = {"iso3": "AUS", "project_id": "syd-61", "user_id": "ams-7", "code": "syd",
              "sector": "energy", "metric": "gdp"}
    modules = (api_projects, api_reference, api_statistics, api_users, api_ops, api_chaos)
    templates = {r.path for m in modules for r in m.router.routes if isinstance(r, Route)}
    assert len(templates) > 20
    for template in templates:
        concrete = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        assert span_route(concrete) == template, concrete
    assert span_route("/v1/anything/at/all") == "/v1/{id}/{id}/{id}"  # bounded, whatever
