"""The real stack on ephemeral ports: six core API processes behind the embedded Toxiproxy,
the front door and the reconciler. Each fault on syd (proxy disabled, 500 ms latency,
connection resets, and the API answering HTTP 500 through its /_chaos/fault) moves its
traffic to sin and opens an incident; restoring brings it back and resolves it; a client
load through the front door sees no failed request from one second after each reroute."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from chaos.faults import FAULTS, Injector
from controlplane.desired import StackPorts, default_desired
from covenant.stack import Stack
from kernel.settings import Settings
from tests.waiting import eventually

PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)


@dataclass(frozen=True)
class Hit:
    started: float
    ok: bool
    served_by: str


async def _load(url: str, stop: asyncio.Event, hits: list[Hit]) -> None:
    """GET an Australian resource through the front door, ~20 per second, until stopped."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = await client.get("/v1/countries/AUS")
                hits.append(Hit(started, r.status_code == 200,
                                r.headers.get("x-covenant-served-by", "")))
            except httpx.HTTPError:
                hits.append(Hit(started, False, ""))
            await asyncio.sleep(0.05)


async def _fault_cycle(stack: Stack, hits: list[Hit], name: str,
                       inject: Callable[[], Awaitable[object]],
                       restore: Callable[[], Awaitable[object]]) -> None:
    plane = stack.plane
    assert plane is not None
    await inject()
    rerouted = await eventually(lambda: plane.router.current is not None
                                and plane.router.current.target("syd") == "sin",
                                f"{name}: syd traffic to sin", 10, interval=0.05)
    await eventually(lambda: "syd" in plane.store.open_incidents(),
                     f"{name}: incident opened", 2, interval=0.05)
    opened = plane.store.open_incidents()
    await eventually(lambda: sum(h.started >= rerouted + 1.0 for h in hits) >= 20,
                     f"{name}: load running on the new route", 10, interval=0.05)
    after = [h for h in hits if h.started >= rerouted + 1.0]
    assert after, f"{name}: no load after the reroute"
    assert all(h.ok for h in after), f"{name}: failed requests after reroute: " \
        f"{[h for h in after if not h.ok][:3]}"
    assert {h.served_by for h in after} == {"sin"}
    await restore()
    back = await eventually(lambda: plane.router.current is not None
                            and plane.router.current.target("syd") == "syd",
                            f"{name}: syd traffic back home", 20, interval=0.05)
    await eventually(lambda: "syd" not in plane.store.open_incidents(),
                     f"{name}: resolved", 2, interval=0.05)
    resolved = [i for i in plane.store.incidents("resolved")
                if i.id == opened["syd"].incident_id]
    assert resolved and resolved[0].timeline[-1][1] == "resolved"
    await eventually(lambda: sum(h.started >= back + 1.0 for h in hits) >= 8,
                     f"{name}: load running back home", 10, interval=0.05)
    settled = [h for h in hits if h.started >= back + 1.0]
    assert settled and all(h.ok and h.served_by == "syd" for h in settled)


async def test_faults_reroute_and_recover(tmp_path: Path) -> None:
    desired = default_desired(PORTS)
    stack = Stack(desired, Settings(data_dir=tmp_path / "data"))
    await stack.start()
    stop, hits = asyncio.Event(), []
    load = asyncio.create_task(_load(stack.front_door_url, stop, hits))
    tox = stack.toxiproxy
    assert tox is not None
    try:
        await eventually(lambda: len(hits) > 10, "load running", 10, interval=0.05)
        assert all(h.ok and h.served_by == "syd" for h in hits)
        syd = next(r for r in stack.regions if r.region == "syd")
        # The benchmark's injector: network faults through syd's proxy, HTTP 500s through
        # its API's own fault switch.
        async with httpx.AsyncClient() as origins:
            faults = Injector(tox, origins, {"syd": f"http://{PORTS.host}:{syd.port}"})
            for fault in FAULTS:
                await _fault_cycle(stack, hits, fault,
                                   lambda f=fault: faults.inject(f, "syd"),  # type: ignore[misc]
                                   lambda f=fault: faults.restore(f, "syd"))  # type: ignore[misc]
        key = (tmp_path / "data" / "admin.key").read_text().strip()  # incidents need a key
        async with httpx.AsyncClient(base_url=stack.api_url,
                                     headers={"Authorization": f"Bearer {key}"}) as api:
            incidents = [i for i in (await api.get("/v1/incidents")).json()
                         if i["region"] == "syd"]
            assert len(incidents) == 4  # one per fault, each opened and resolved
            assert all(i["status"] == "resolved" for i in incidents)
            # The errors fault was told by the probes and counted by the scrape.
            errors = max(incidents, key=lambda i: i["opened_at"])
            assert "answered 500" in json.dumps(errors), errors
            # The anomaly watch runs with the stack: its gauges, per region and metric.
            metrics = (await api.get("/metrics")).text
            assert 'covenant_anomaly_score{metric="latency_ms",region="syd"}' in metrics
            assert 'covenant_anomaly_band_upper{metric="traffic_rps",region="ams"}' in metrics
        assert stack.anomaly is not None and stack.refitting  # beside the reconcile loop
        # Before its reroute the errors fault reached clients: syd answered them with 500
        # (the front door retries only connect failures, resets and 502-504).
        assert any(not h.ok and h.served_by == "syd" for h in hits)
    finally:
        stop.set()
        await load
        processes = [r.process for r in stack.regions]
        await stack.stop()
    assert not stack.refitting  # stopped with the reconciler
    # stop() forgets its regions, so check the processes it had: six, every one exited.
    assert len(processes) == 6 and all(p.returncode is not None for p in processes)
