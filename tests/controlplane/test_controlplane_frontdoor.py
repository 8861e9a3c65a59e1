"""The front door relaying on real sockets: against the six in-repo fake regions (routing,
failover, residency, route pushes) and against scripted raw origins (framing, retries of
keyed writes, resets after a commit, hostile requests, timeouts)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
import pytest

from controlplane.desired import default_desired
from controlplane.fakes import fake_regions
from controlplane.frontdoor import FrontDoor
from controlplane.frontdoor_config import FrontDoorConfig
from tests.frontdoor_origins import RESET, Handler, Seen, chunked, origins, response
from tests.waiting import eventually

HOMES = {"AUS": "syd", "NOR": "ams", "USA": "iad", "ZAF": "jnb", "AU": "syd", "SGP": "sin",
         "SG": "sin"}
ALL_HOME = {r: {r: 100} for r in ("ams", "iad", "syd", "sin", "sfo", "jnb")}
CLOSED = "http://127.0.0.1:9"  # nothing listens: connect refused


def config(endpoints: Mapping[str, str], **extra: object) -> FrontDoorConfig:
    desired = default_desired()
    names = list(desired.region_names())
    return FrontDoorConfig(
        endpoints={r: endpoints.get(r, CLOSED) for r in names}, homes=HOMES,
        nearest={r: list(o) for r, o in desired.nearest_order().items()},
        default_region="ams", port=0, regions_order=names, **extra)  # type: ignore[arg-type]


@asynccontextmanager
async def running(cfg: FrontDoorConfig) -> AsyncIterator[tuple[FrontDoor, httpx.AsyncClient]]:
    door = FrontDoor(cfg)
    await door.start()
    try:
        async with httpx.AsyncClient(base_url=door.url, timeout=10) as client:
            yield door, client
    finally:
        await door.stop()


async def test_routes_reference_data_by_country_and_fails_over() -> None:
    async with fake_regions() as (desired, fakes, servers), \
            running(config({r.name: r.endpoint for r in desired.regions})) as (door, client):
        r = await client.get("/v1/countries/AUS/contributions?x=1")
        assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "syd")
        assert r.json() == {"region": "syd", "path": "/v1/countries/AUS/contributions"}
        r = await client.get("/v1/anything", headers={"x-covenant-country": "NOR"})
        assert r.headers["x-covenant-served-by"] == "ams"
        r = await client.get("/v1/anything", headers={"x-covenant-region": "jnb"})
        assert r.headers["x-covenant-served-by"] == "jnb"
        assert (await client.get("/v1/statistics?country=au")).headers["x-covenant-home"] == \
            "syd"
        assert (await client.get("/v1/unknown")).headers["x-covenant-home"] == "ams"

        # The reconciler moved syd's traffic to sin: reference data is served there.
        door.door.set_routes(ALL_HOME | {"syd": {"sin": 100}})
        r = await client.get("/v1/countries/AUS")
        assert r.headers["x-covenant-served-by"] == "sin"

        # Routes still say syd, but syd stopped listening: retried on its nearest.
        door.door.set_routes(ALL_HOME)
        await servers["syd"].stop()
        for method in ("GET", "POST"):
            r = await client.request(method, "/v1/countries/AUS")
            assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "sin"), r.text
        metrics = (await client.get("/_frontdoor/metrics")).text
        assert 'covenant_frontdoor_retries_total{home="syd",reason="connect"} 2' in metrics

        # A 500 is the origin's answer, passed through, not retried.
        fakes["iad"].mode = "error"
        r = await client.get("/v1/countries/USA")
        assert (r.status_code, r.headers["x-covenant-served-by"]) == (500, "iad")


async def test_region_owned_data_goes_home_and_nowhere_else() -> None:
    async with fake_regions() as (desired, fakes, servers), \
            running(config({r.name: r.endpoint for r in desired.regions},
                           retry_after_s=7)) as (door, client):
        r = await client.post("/v1/projects", json={"name": "x", "country": "AUS"})
        assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "syd")
        r = await client.post("/v1/users", json={"country": "SG"})  # an ISO2 code
        assert r.headers["x-covenant-served-by"] == "sin"
        for method in ("GET", "PATCH", "DELETE"):
            r = await client.request(method, "/v1/projects/syd-61")
            assert r.headers["x-covenant-served-by"] == "syd"

        # syd's traffic routed away: its data is refused with 503 + Retry-After, not moved.
        door.door.set_routes(ALL_HOME | {"syd": {"sin": 100}})
        before = sum(fakes["sin"].counts.values())
        for method, path, body in [("POST", "/v1/projects", {"country": "AUS"}),
                                   ("GET", "/v1/users/syd-7", None),
                                   ("GET", "/v1/projects?country=AUS", None)]:
            r = await client.request(method, path, json=body)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "7"
            assert r.json()["region"] == "syd" and "sin" in r.json()["detail"]
        assert sum(fakes["sin"].counts.values()) == before
        # ... and a list across regions would miss syd's part: 503 too.
        assert (await client.get("/v1/users?email=a%40b.example")).status_code == 503

        # syd routed home again but not listening: a write tries syd only, then 503.
        door.door.set_routes(ALL_HOME)
        await servers["syd"].stop()
        r = await client.post("/v1/projects", json={"country": "AUS"})
        assert r.status_code == 503 and "nothing was written" in r.json()["detail"]
        assert sum(fakes["sin"].counts.values()) == before
        metrics = (await client.get("/_frontdoor/metrics")).text
        assert 'covenant_frontdoor_unavailable_total{home="syd",reason="region_down"} 4' in \
            metrics
        assert 'covenant_frontdoor_unavailable_total{home="syd",reason="connect"} 1' in metrics
        assert ('http_requests_total{region="syd",route="/v1/projects",method="POST",'
                'status="503",source="frontdoor"} 2') in metrics


async def test_no_region_left_for_reference_data_is_a_502_naming_the_failure() -> None:
    async with running(config({})) as (_door, client):
        r = await client.get("/v1/countries/ZAF")
    assert r.status_code == 502 and "connect failed" in r.json()["detail"]


async def test_passes_the_origins_date_and_server_headers_once() -> None:
    async with fake_regions() as (desired, _fakes, _servers), \
            running(config({r.name: r.endpoint for r in desired.regions})) as (_door, client):
        r = await client.get("/v1/countries/AUS")
    assert r.status_code == 200
    assert len(r.headers.get_list("date")) == 1
    assert len(r.headers.get_list("server")) == 1


def _page(region: str, total: int) -> Handler:
    async def handler(seen: Seen) -> bytes:
        query = dict(p.split("=", 1) for p in seen.target.partition("?")[2].split("&") if p)
        limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
        if limit == 0:
            return response(422, b'{"detail":"limit"}')
        items = [{"id": f"{region}-{i}"} for i in range(offset, min(offset + limit, total))]
        return response(200, json.dumps({"items": items, "total": total, "limit": limit,
                                         "offset": offset}).encode())
    return handler


async def test_lists_without_a_country_fan_out_to_every_region_and_merge() -> None:
    totals = {"ams": 2, "iad": 0, "syd": 3, "sin": 1, "sfo": 0, "jnb": 2}
    async with origins({r: _page(r, n) for r, n in totals.items()}) as got, \
            running(config({r: o.url for r, o in got.items()})) as (_door, client):
        r = await client.get("/v1/users", params={"email": "a@b.example", "limit": 4})
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [{"id": "ams-0"}, {"id": "ams-1"}, {"id": "syd-0"},
                                      {"id": "syd-1"}], "total": 8, "limit": 4, "offset": 0}
        assert all("email=a%40b.example" in s.target for o in got.values() for s in o.seen)
        r = await client.get("/v1/projects", params={"offset": 3, "limit": 4})
        assert [i["id"] for i in r.json()["items"]] == ["syd-1", "syd-2", "sin-0", "jnb-0"]
        assert r.json()["total"] == 8
        # A region's validation error is the answer (every region validates alike).
        r = await client.get("/v1/users", params={"limit": 0})
        assert r.status_code == 422


async def test_a_keyed_write_is_retried_at_home_after_a_reset_and_only_there() -> None:
    committed: list[str] = []

    async def crash_after_commit_once(seen: Seen) -> bytes:
        key = seen.headers.get("idempotency-key", "")
        if key in committed:  # an idempotent origin answers a repeat with the first result
            return response(201, b'{"id":"syd-1"}', "idempotent-replayed: true\r\n")
        committed.append(key)
        return RESET  # committed, then the connection died before the answer

    async with origins({"syd": crash_after_commit_once}) as got, \
            running(config({"syd": got["syd"].url})) as (_door, client):
        r = await client.post("/v1/projects", json={"country": "AUS"},
                              headers={"idempotency-key": "k-1"})
        assert r.status_code == 201 and r.headers["x-covenant-served-by"] == "syd"
        assert committed == ["k-1"] and len(got["syd"].seen) == 2

        # Without a key the front door must not repeat it: a 502 that says why.
        r = await client.post("/v1/projects", json={"country": "AUS"})
        assert r.status_code == 502 and "may have been applied" in r.json()["detail"]
        assert len(got["syd"].seen) == 3


async def test_a_keyed_write_that_never_gets_an_answer_is_a_503_to_retry() -> None:
    async def always_reset(seen: Seen) -> bytes:
        return RESET

    async with origins({"syd": always_reset}) as got, \
            running(config({"syd": got["syd"].url})) as (_door, client):
        r = await client.post("/v1/projects", json={"country": "AUS"},
                              headers={"idempotency-key": "k-2"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert len(got["syd"].seen) == 3  # three attempts, all at home


async def test_a_421_is_followed_once_to_the_home_it_names() -> None:
    async def misdirected(seen: Seen) -> bytes:
        return response(421, b'{"home_region":"syd"}', "x-covenant-home: syd\r\n")

    async def home(seen: Seen) -> bytes:
        return response(201, b'{"id":"syd-9"}')

    async with origins({"ams": misdirected, "syd": home}) as got, \
            running(config({r: o.url for r, o in got.items()})) as (door, client):
        # The client's override sent it to ams; ams says the data lives in syd.
        r = await client.post("/v1/projects", json={"country": "AUS"},
                              headers={"x-covenant-region": "ams"})
        assert (r.status_code, r.headers["x-covenant-served-by"]) == (201, "syd")
        door.door.set_routes(ALL_HOME | {"syd": {"sin": 100}})
        r = await client.post("/v1/projects", json={"country": "AUS"},
                              headers={"x-covenant-region": "ams"})
        assert r.status_code == 503  # the named home is down: never written elsewhere


async def test_framing_chunked_head_and_expect_continue() -> None:
    async def answer(seen: Seen) -> bytes:
        if seen.method == "HEAD":  # the GET's length, and no body
            return b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
        if seen.target.startswith("/chunked"):
            return chunked(200, [b'{"a":', b"1}"])
        return response(200, json.dumps({"got": len(seen.body)}).encode())

    async with origins({"ams": answer}) as got, \
            running(config({"ams": got["ams"].url})) as (_door, client):
        r = await client.get("/chunked")
        assert r.json() == {"a": 1}
        r = await client.head("/v1/sectors")
        assert r.status_code == 200
        assert (await client.get("/v1/sectors")).status_code == 200  # the pool still works
        body = b"x" * 5000
        r = await client.post("/v1/sectors", content=body, headers={"expect": "100-continue"})
        assert r.json() == {"got": 5000}


async def test_hostile_requests_get_a_400_from_the_front_door_itself() -> None:
    async with origins({"ams": lambda s: asyncio.sleep(0, response(200))}) as got, \
            running(config({"ams": got["ams"].url}, max_body_bytes=1000)) as (door, _client):
        for raw, status in [
            (b"GET /v1/../secret HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /v1/%2e%2e/secret HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /v1/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /v1/a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GARBAGE\r\n\r\n", 400),
            (b"POST /v1/x HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000, 413),
        ]:
            reader, writer = await asyncio.open_connection("127.0.0.1", door.port)
            writer.write(raw)
            answer = await reader.read(100_000)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 %d " % status), (raw[:40], answer[:200])
            assert b'{"detail":' in answer
        assert got["ams"].seen == []


async def test_a_hung_origin_times_out_and_is_answered() -> None:
    hang = asyncio.Event()

    async def never(seen: Seen) -> bytes:
        await hang.wait()
        return RESET

    async with origins({"ams": never}) as got, \
            running(config({"ams": got["ams"].url}, response_timeout_s=0.3)) as (_d, client):
        r = await client.post("/v1/projects", json={"country": "NOR"})
        assert r.status_code == 502 and "timeout" in r.json()["detail"]
        r = await client.get("/v1/projects/ams-1")
        assert r.status_code == 503 and "timeout" in r.json()["detail"]
        hang.set()


@pytest.mark.parametrize("pipelined", [1, 5])
async def test_pipelined_requests_are_answered_in_order(pipelined: int) -> None:
    async def echo(seen: Seen) -> bytes:
        return response(200, seen.target.encode(), content_type="text/plain")

    async with origins({"ams": echo}) as got, \
            running(config({"ams": got["ams"].url})) as (door, _client):
        reader, writer = await asyncio.open_connection("127.0.0.1", door.port)
        writer.write(b"".join(b"GET /v1/sectors/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
                              for i in range(pipelined)))
        bodies = []
        for _ in range(pipelined):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            bodies.append(await reader.readexactly(length))
        writer.close()
    assert bodies == [b"/v1/sectors/%d" % i for i in range(pipelined)]


async def test_a_client_that_goes_quiet_is_closed() -> None:
    async with running(config({}, client_idle_s=0.2)) as (door, _client):
        reader, writer = await asyncio.open_connection("127.0.0.1", door.port)
        writer.write(b"GET /v1/sectors HTTP/1.1\r\nHost: x")  # and never the rest
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed by the sweep
        writer.close()
        await eventually(lambda: not door.door.clients, "the connection forgotten", 5)
