"""The front door against six fake regions on real sockets."""

from __future__ import annotations

import httpx
import pytest

from controlplane.actuators import LocalRouter
from controlplane.desired import REGION_ORDER
from controlplane.fakes import fake_regions
from controlplane.frontdoor import SERVE, STOP, FrontDoor, next_step
from controlplane.routing import RouteTable
from controlplane.servers import start_server

HOMES = {"AUS": "syd", "NOR": "ams", "USA": "iad", "ZAF": "jnb", "AU": "syd"}


async def test_routes_by_country_and_fails_over() -> None:
    async with fake_regions() as (desired, fakes, servers), \
            httpx.AsyncClient(timeout=5) as upstream:
        router = LocalRouter(RouteTable.from_targets({r: r for r in REGION_ORDER}))
        door = FrontDoor(desired, router, upstream, HOMES)
        front = await start_server(door.app())
        try:
            async with httpx.AsyncClient(base_url=front.url, timeout=5) as client:
                r = await client.get("/v1/countries/AUS/contributions?x=1")
                assert r.status_code == 200
                assert r.headers["x-covenant-served-by"] == "syd"
                assert r.json() == {"region": "syd", "path": "/v1/countries/AUS/contributions"}
                r = await client.get("/v1/anything", headers={"x-covenant-country": "NOR"})
                assert r.headers["x-covenant-served-by"] == "ams"
                r = await client.get("/v1/anything", headers={"x-covenant-region": "jnb"})
                assert r.headers["x-covenant-served-by"] == "jnb"
                r = await client.get("/v1/projects?country=au")
                assert r.headers["x-covenant-home"] == "syd"
                assert (await client.get("/v1/unknown")).headers["x-covenant-home"] == "ams"

                # The reconciler moved syd's traffic to sin.
                await router.apply(RouteTable.from_targets(
                    {r: r for r in REGION_ORDER} | {"syd": "sin"}))
                r = await client.get("/v1/countries/AUS")
                assert r.headers["x-covenant-served-by"] == "sin"

                # Routes still say syd, but syd stopped listening: retried on its nearest.
                await router.apply(RouteTable.from_targets({r: r for r in REGION_ORDER}))
                await servers["syd"].stop()
                for method in ("GET", "POST"):
                    r = await client.request(method, "/v1/countries/AUS")
                    assert r.status_code == 200, r.text
                    assert r.headers["x-covenant-served-by"] == "sin"
                metrics = (await client.get("/_frontdoor/metrics")).text
                assert 'covenant_frontdoor_retries_total{home="syd",reason="connect"} 2.0' \
                    in metrics

                # A 500 is the origin's answer, passed through, not retried.
                fakes["iad"].mode = "error"
                r = await client.get("/v1/countries/USA")
                assert (r.status_code, r.headers["x-covenant-served-by"]) == (500, "iad")
        finally:
            await front.stop()


async def test_no_region_left_is_a_502_naming_the_failure() -> None:
    async with fake_regions() as (desired, _fakes, servers), \
            httpx.AsyncClient(timeout=5) as upstream:
        door = FrontDoor(desired, LocalRouter(), upstream, HOMES)
        for server in servers.values():
            await server.stop()
        transport = httpx.ASGITransport(app=door.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://fd") as client:
            r = await client.get("/v1/countries/ZAF")
        assert r.status_code == 502 and "connect failed" in r.json()["detail"]


async def test_passes_the_origins_date_and_server_headers_once() -> None:
    async with fake_regions() as (desired, _fakes, _servers), \
            httpx.AsyncClient(timeout=5) as upstream:
        door = FrontDoor(desired, LocalRouter(), upstream, HOMES)
        front = await start_server(door.app(), proxy=True)
        try:
            async with httpx.AsyncClient(base_url=front.url, timeout=5) as client:
                r = await client.get("/v1/countries/AUS")
            assert r.status_code == 200
            assert len(r.headers.get_list("date")) == 1
            assert len(r.headers.get_list("server")) == 1
        finally:
            await front.stop()


_REQ = httpx.Request("GET", "http://origin.test/")


@pytest.mark.parametrize(("outcome", "idempotent", "step"), [
    (200, True, SERVE), (404, False, SERVE),
    (500, True, SERVE),  # an origin's own 500 is its answer: served, not retried
    (503, True, "503"), (502, True, "502"), (504, True, "504"),
    (503, False, SERVE),  # a POST that may have acted is not repeated elsewhere
    (httpx.ConnectError("refused", request=_REQ), False, "connect"),  # never reached it
    (httpx.ConnectTimeout("slow", request=_REQ), True, "connect"),
    (httpx.ReadError("reset", request=_REQ), True, "reset"),
    (httpx.ReadError("reset", request=_REQ), False, STOP),
    (httpx.ReadTimeout("hung", request=_REQ), False, STOP),
])
def test_next_step_after_an_attempt(outcome: int | httpx.TransportError, idempotent: bool,
                                    step: str) -> None:
    assert next_step(outcome, idempotent) == step
