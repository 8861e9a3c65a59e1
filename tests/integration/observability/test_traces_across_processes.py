"""One request is one trace across processes, exported over OTLP/HTTP to a receiver in the
test: ``covenant up``'s stack (two regions, ephemeral ports) with ``otlp_endpoint`` set; a
request through the front door process to a region API process and its database, and the
control plane's reconcile passes. The spans come from three processes (three
``service.name``s) and link up by trace id and parent span id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from controlplane.desired import StackPorts, default_desired
from covenant.stack import CONTROL_PLANE_SERVICE, Stack
from kernel.settings import Settings
from tests.integration.observability.otlp import (
    CLIENT,
    INTERNAL,
    SERVER,
    OtlpReceiver,
    Span,
    otlp_receiver,
)
from tests.waiting import eventually

PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)
REGIONS = ("syd", "sin")  # two region processes are enough, and start in half the time
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
FRONT_DOOR, CORE_API = "covenant-frontdoor", "covenant-core-api"


@pytest.fixture()
async def traced_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                       ) -> AsyncIterator[tuple[Stack, OtlpReceiver]]:
    # Every process batches its spans; export them within 0.2 s rather than the SDK's 5 s.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    desired = default_desired(PORTS)
    desired = desired.model_copy(update={
        "regions": tuple(r for r in desired.regions if r.name in REGIONS)})
    with otlp_receiver() as receiver:
        stack = Stack(desired, Settings(data_dir=tmp_path / "data", otlp_endpoint=receiver.url))
        await stack.start()
        try:
            yield stack, receiver
        finally:
            await stack.stop()


async def spans_until(receiver: OtlpReceiver, found: Callable[[list[Span]], bool],
                      what: str) -> list[Span]:
    await eventually(lambda: found(receiver.spans()), what, 30, interval=0.1)
    return receiver.spans()


def one(spans: list[Span], what: str, match: Callable[[Span], bool]) -> Span:
    hits = [s for s in spans if match(s)]
    assert len(hits) == 1, f"{what}: {len(hits)} spans: {[(s.service, s.name) for s in hits]}"
    return hits[0]


def in_trace(trace_id: str) -> Callable[[list[Span]], bool]:
    """The front door's span, the region's server span and at least one SQL statement's have
    arrived. Each process exports in batches, and a statement's span ends (and may be sent)
    before the request's span that holds it, so wait for each kind by name."""
    def done(spans: list[Span]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        return any(s.service == FRONT_DOOR for s in mine) \
            and any(s.service == CORE_API and s.kind == SERVER for s in mine) \
            and any(s.kind == CLIENT for s in mine)
    return done


async def test_a_write_through_the_front_door_is_one_trace_with_its_sql(
        traced_stack: tuple[Stack, OtlpReceiver]) -> None:
    stack, receiver = traced_stack
    async with httpx.AsyncClient(base_url=stack.front_door_url, timeout=15) as client:
        r = await client.post("/v1/users", headers={
            "traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"}, json={
            "name": "Traced", "email": "traced@example.org", "country": "AUS"})
    assert (r.status_code, r.headers["x-covenant-served-by"]) == (201, "syd"), r.text
    spans = [s for s in await spans_until(receiver, in_trace(CLIENT_TRACE),
                                          "the write's spans from both processes")
             if s.trace_id == CLIENT_TRACE]

    door = one(spans, "front door span", lambda s: s.service == FRONT_DOOR)
    assert (door.name, door.kind, door.parent_id) == ("frontdoor POST /v1/users", SERVER,
                                                      CLIENT_SPAN)  # the client's trace
    assert {k: door.attributes[k] for k in ("covenant.home_region", "covenant.served_by",
                                             "http.response.status_code")} == \
        {"covenant.home_region": "syd", "covenant.served_by": "syd",
         "http.response.status_code": 201}

    region = one(spans, "region server span", lambda s: s.service == CORE_API
                 and s.kind == SERVER)
    assert region.child_of(door) and region.name == "POST /v1/users"
    assert region.resource["covenant.region"] == "syd"
    assert door.resource.get("covenant.region") is None  # two processes, two resources

    sql = [s for s in spans if s.kind == CLIENT]
    assert sql and all(s.service == CORE_API and s.child_of(region) for s in sql)
    assert any(s.name == "INSERT" and "users" in str(s.attributes["db.query.text"])
               for s in sql), [s.name for s in sql]
    # The region's work happens inside the front door's span.
    assert door.start_ns <= region.start_ns <= region.end_ns <= door.end_ns


async def test_a_read_without_a_traceparent_starts_a_trace_at_the_front_door(
        traced_stack: tuple[Stack, OtlpReceiver]) -> None:
    stack, receiver = traced_stack
    async with httpx.AsyncClient(base_url=stack.front_door_url, timeout=15) as client:
        r = await client.get("/v1/countries/SGP")
    assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "sin")
    trace_id = r.headers["traceparent"].split("-")[1]  # the region's span, relayed back

    def both(spans: list[Span]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        return any(s.service == FRONT_DOOR for s in mine) \
            and any(s.service == CORE_API and s.kind == SERVER for s in mine)
    spans = [s for s in await spans_until(receiver, both, "the read's spans")
             if s.trace_id == trace_id]
    door = one(spans, "front door span", lambda s: s.service == FRONT_DOOR)
    assert door.parent_id == "" and door.name == "frontdoor GET /v1/countries/{iso3}"
    region = one(spans, "region span", lambda s: s.service == CORE_API and s.kind == SERVER)
    assert region.child_of(door) and region.name == "GET /v1/countries/{iso3}"


async def test_a_reconcile_pass_is_a_trace_of_its_phases(
        traced_stack: tuple[Stack, OtlpReceiver]) -> None:
    _stack, receiver = traced_stack

    def a_whole_pass(spans: list[Span]) -> bool:
        roots = {s.span_id for s in spans if s.name == "reconcile"}
        return any(s.name == "record" and s.parent_id in roots for s in spans)
    spans = await spans_until(receiver, a_whole_pass, "a reconcile pass and its phases")
    plane = [s for s in spans if s.service == CONTROL_PLANE_SERVICE]
    root = next(s for s in plane if s.name == "reconcile"
                and any(c.name == "record" and c.child_of(s) for c in plane))
    assert root.parent_id == "" and root.kind == INTERNAL
    phases = sorted((c for c in plane if c.child_of(root)), key=lambda c: c.start_ns)
    assert [c.name for c in phases][:4] == ["observe", "decide", "act", "record"]
