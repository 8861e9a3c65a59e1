"""The whole loop in one process against fake regions: observe, decide, act, record, API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from controlplane.assembly import ControlPlane, build_control_plane
from controlplane.desired import HealthPolicy, ProbePolicy
from controlplane.fakes import fake_regions
from controlplane.health import Health
from controlplane.signals import Signals, StaticSignals
from kernel.bus import Event, InProcessBus
from kernel.settings import Settings
from tests.waiting import eventually

POLICIES = {"probe": ProbePolicy(interval_s=0.1, timeout_s=0.3, scrape_timeout_s=0.3),
            "health": HealthPolicy(slow_latency_s=0.2, min_dwell_s=0.3, recover_after=2)}


async def _until(plane: ControlPlane, cond: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await plane.reconciler.run_once()


async def test_region_fault_moves_traffic_opens_incident_and_recovers(tmp_path: Path) -> None:
    bus = InProcessBus()
    events: list[Event] = []

    async def collect(event: Event) -> None:
        events.append(event)

    await bus.subscribe("covenant.controlplane.>", collect)
    async with fake_regions(**POLICIES) as (desired, fakes, _servers):
        plane = build_control_plane(desired, Settings(data_dir=tmp_path), bus=bus,
                                    holder="test-replica")
        try:
            await _until(plane, lambda: plane.router.current is not None)
            assert plane.router.current is not None and plane.router.current.moved() == {}

            fakes["syd"].mode = "error"
            await _until(plane, lambda: plane.router.current is not None
                         and plane.router.current.target("syd") == "sin")
            assert plane.reconciler.state.regions["syd"].state is Health.DEGRADED
            assert list(plane.store.open_incidents()) == ["syd"]

            fakes["syd"].mode = "ok"
            await _until(plane, lambda: plane.router.current is not None
                         and plane.router.current.target("syd") == "syd")
            assert plane.store.open_incidents() == {}

            transport = httpx.ASGITransport(app=plane.api())
            async with httpx.AsyncClient(transport=transport, base_url="http://cp") as api:
                regions = (await api.get("/v1/regions")).json()
                incidents = (await api.get("/v1/incidents")).json()
                actions = (await api.get("/v1/actions")).json()
                metrics = (await api.get("/metrics")).text
                health = (await api.get("/health")).json()
            assert [r["region"] for r in regions] == list(desired.region_names())
            assert incidents[0]["status"] == "resolved"
            assert [e["kind"] for e in incidents[0]["timeline"]][0] == "opened"
            assert "syd" in incidents[0]["timeline"][0]["reason"]
            assert {a["kind"] for a in actions} >= {"set_routes", "open_incident",
                                                    "resolve_incident"}
            assert 'covenant_region_up{region="syd"} 1.0' in metrics
            assert "covenant_reconcile_duration_seconds_count" in metrics
            assert 'covenant_actions_total{kind="open_incident"} 1.0' in metrics
            assert health["leader"] is True and health["passes"] > 3
            await bus.drain()
            subjects = [e.subject for e in events]
            assert "covenant.controlplane.open_incident" in subjects
            assert "covenant.controlplane.resolve_incident" in subjects
            payload = json.loads(events[subjects.index(
                "covenant.controlplane.open_incident")].data)
            assert payload["region"] == "syd" and payload["source"] == "test-replica"
        finally:
            await plane.close()
            await bus.close()


async def test_standby_replica_does_not_act(tmp_path: Path) -> None:
    async with fake_regions(**POLICIES) as (desired, _fakes, _servers):
        leader = build_control_plane(desired, Settings(data_dir=tmp_path), holder="a")
        standby = build_control_plane(desired, Settings(data_dir=tmp_path), holder="b")
        try:
            await leader.reconciler.run_once()
            d = await standby.reconciler.run_once()
            assert d.actions == () and standby.router.current is None
            assert leader.router.current is not None
            leader.lease.release()
            d = await standby.reconciler.run_once()
            assert d.actions and standby.router.current is not None
        finally:
            await leader.close()
            await standby.close()


async def test_slo_signal_hook_feeds_decide(tmp_path: Path) -> None:
    from controlplane.desired import SloPolicy

    async with fake_regions(slo=SloPolicy(enforce=True), **POLICIES) as (desired, _f, _s):
        plane = build_control_plane(
            desired, Settings(data_dir=tmp_path),
            signals=StaticSignals(Signals(slo_breaches={"jnb": "budget exhausted"})))
        try:
            await _until(plane, lambda: plane.reconciler.state.regions.get("jnb") is not None
                         and plane.reconciler.state.regions["jnb"].state is Health.DEGRADED)
        finally:
            await plane.close()


async def test_first_bad_cycle_makes_the_loop_confirm_soon(tmp_path: Path) -> None:
    async with fake_regions(**POLICIES) as (desired, _fakes, servers):
        plane = build_control_plane(desired, Settings(data_dir=tmp_path))
        try:
            await plane.reconciler.run_once()
            assert not plane.reconciler.suspect()
            await servers["jnb"].stop()
            await plane.reconciler.run_once()
            assert plane.reconciler.suspect()
            assert plane.reconciler.state.regions["jnb"].state is Health.HEALTHY
            await plane.reconciler.run_once()
            assert not plane.reconciler.suspect()  # confirmed: degraded now
            assert plane.reconciler.state.regions["jnb"].state is Health.DEGRADED
        finally:
            await plane.close()


async def test_loop_runs_until_stopped(tmp_path: Path) -> None:
    async with fake_regions(**POLICIES) as (desired, _fakes, _servers):
        plane = build_control_plane(desired, Settings(data_dir=tmp_path))
        stop = asyncio.Event()
        task = asyncio.create_task(plane.reconciler.run(stop))
        try:
            await eventually(lambda: plane.reconciler.passes >= 3, "three passes", 10)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await plane.close()


class _FailingRouter:
    def __init__(self) -> None:
        self.calls = 0

    async def apply(self, routes: object) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("route 53 throttled")


async def test_failed_route_apply_is_decided_again_next_cycle(tmp_path: Path) -> None:
    async with fake_regions(**POLICIES) as (desired, _fakes, _servers):
        router = _FailingRouter()
        plane = build_control_plane(desired, Settings(data_dir=tmp_path),
                                    extra_routers=[router])
        try:
            await plane.reconciler.run_once()
            assert plane.reconciler.state.routes is None
            d = await plane.reconciler.run_once()
            assert router.calls == 2 and plane.reconciler.state.routes is not None
            assert d.actions[0].reason.startswith("the last apply failed: assert routes again")
        finally:
            await plane.close()


async def test_leader_prunes_old_observations(tmp_path: Path) -> None:
    from controlplane.desired import RecordPolicy

    async with fake_regions(record=RecordPolicy(retention_s=0.5, prune_every=1),
                            **POLICIES) as (desired, _fakes, _servers):
        plane = build_control_plane(desired, Settings(data_dir=tmp_path))
        try:
            # Pass until pruning shows (cycles older than 0.5 s gone), within the deadline.
            await _until(plane, lambda: plane.reconciler.passes > 5 and
                         plane.store.observation_count() < 6 * plane.reconciler.passes)
            assert plane.reconciler.passes > 5
            # Only the last ~0.5 s of cycles survive, not every pass.
            assert plane.store.observation_count() < 6 * plane.reconciler.passes
        finally:
            await plane.close()
