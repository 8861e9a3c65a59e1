"""The control plane's side of the front door: route tables pushed through the Router seam
and pulled at start, the admin listener's loopback rule, and the front door's own 503s
reaching the home region's availability SLO."""

from __future__ import annotations

import json

import httpx
import pytest

from controlplane.errors import ControlPlaneError
from controlplane.frontdoor import FrontDoor
from controlplane.frontdoor_admin import is_loopback, valid_table
from controlplane.frontdoor_router import FrontDoorRouter, FrontDoorSli
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.routing import RouteTable
from controlplane.signals import SloBudgetSignals
from kernel.exposition import Sample
from tests.controlplane.test_controlplane_frontdoor import config, running
from tests.frontdoor_origins import Seen, origins, response
from tests.waiting import eventually

SIX = ("ams", "iad", "syd", "sin", "sfo", "jnb")


async def test_the_router_pushes_tables_and_a_push_that_fails_raises() -> None:
    async with running(config({})) as (door, _client):
        router = FrontDoorRouter(door.admin_url)
        try:
            await router.apply(RouteTable.from_targets({r: r for r in SIX} | {"syd": "sin"}))
            assert door.door.routed is not None and door.door.routed["syd"] == "sin"
            async with httpx.AsyncClient(base_url=door.admin_url) as admin:
                assert (await admin.get("/routes")).json()["routes"]["syd"] == "sin"
                assert (await admin.put("/routes", content=b"[1]")).status_code == 400
                assert (await admin.get("/health")).json()["routes"] is True
                assert "covenant_frontdoor_route_updates_total 1" in \
                    (await admin.get("/metrics")).text
        finally:
            await router.aclose()
    gone = FrontDoorRouter(door.admin_url)  # stopped: the reconciler must hear it failed
    with pytest.raises(ControlPlaneError, match="retried next pass"):
        await gone.apply(RouteTable.from_targets({"syd": "syd"}))
    await gone.aclose()


async def test_a_starting_front_door_pulls_the_current_table() -> None:
    table = {r: {r: 100} for r in SIX} | {"jnb": {"ams": 100}}

    async def control_plane(seen: Seen) -> bytes:
        assert seen.target == "/v1/routes"
        return response(200, json.dumps(table).encode())

    async with origins({"cp": control_plane}) as got:
        door = FrontDoor(config({}, control_plane=got["cp"].url))
        await door.start()
        try:
            await eventually(lambda: door.door.routed is not None, "routes pulled", 5)
            assert door.door.routed is not None and door.door.routed["jnb"] == "ams"
        finally:
            await door.stop()


@pytest.mark.parametrize(("peer", "loopback"), [
    (("127.0.0.1", 5000), True), (("::1", 5000, 0, 0), True), (("10.0.0.8", 5000), False),
    (("192.168.1.2", 1), False), (None, False), (("not-an-ip", 1), False),
])
def test_only_loopback_peers_reach_the_admin(peer: object, loopback: bool) -> None:
    assert is_loopback(peer) is loopback


@pytest.mark.parametrize(("data", "ok"), [
    ({"syd": {"sin": 100}}, True), ({}, True), ([], False), ({"syd": {"sin": "x"}}, False),
    ({"syd": ["sin"]}, False),
])
def test_valid_table(data: object, ok: bool) -> None:
    assert (valid_table(data) is not None) is ok


async def test_the_front_doors_503s_reach_the_home_regions_availability_budget() -> None:
    async with running(config({})) as (door, client):
        door.door.set_routes({r: {r: 100} for r in SIX} | {"syd": {"sin": 100}})
        fed: list[tuple[str, list[Sample]]] = []
        sli = FrontDoorSli(f"{door.url}/_frontdoor/metrics",
                           lambda region, samples, at: fed.append((region, list(samples))),
                           clock=lambda: 0.0)
        async with httpx.AsyncClient(timeout=5) as http:
            await sli.poll(http)  # before any 503: nothing to feed
            assert fed == []
            for _ in range(3):
                assert (await client.post("/v1/projects", json={"country": "AUS"})
                        ).status_code == 503
            await sli.poll(http)
    ((region, samples),) = fed
    assert region == "syd"
    assert [(s.labels["status"], s.labels["source"], s.value) for s in samples] == \
        [("503", "frontdoor", 3.0)]

    # The budget tracker counts them as syd's bad events, while syd cannot be scraped.
    budgets = SloBudgetSignals.default()
    down = {n: RegionObservation(n, 0, ProbeStatus.UNREACHABLE if n == "syd" else ProbeStatus.UP,
                                 None, 0, 0, False) for n in SIX}
    zero = [Sample(s.name, s.labels, 0.0) for s in samples]
    budgets.feed_extra("syd", zero, 1.0)
    budgets.signals(down, 1.0)  # a baseline, as Prometheus takes a new series
    budgets.feed_extra("syd", samples, 2.0)
    budgets.signals(down, 2.0)
    syd = next(b for b in budgets._status() if b.slo_id == "core-api-availability-syd")
    assert (syd.bad, syd.total) == (3.0, 3.0)
