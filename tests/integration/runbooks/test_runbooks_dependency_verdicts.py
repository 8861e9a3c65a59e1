"""The ``cache_down`` and ``bus_down`` verdicts start their runbooks through the reconciler:
a stack of two regions on ephemeral ports with a private redis-server and a private
nats-server -js; stopping one makes each region's /metrics say so (``cache_up`` /
``event_bus_up`` 0), the reconciler's detector declares it down, and its Runbook hook starts
redis-outage / nats-outage in each region with the actor ``reconciler:<verdict>``.

No Prometheus runs here (``prometheus_url`` points at a closed port), so redis-outage's
``pool-saturating`` check cannot read the pool and, being ``on_fail: continue``, is recorded
and passed; each run is followed to its first manual step (a person restores the service),
which is as far as a run goes without one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from controlplane.desired import SloPolicy, StackPorts, default_desired
from core_api import contract
from covenant.stack import Stack
from kernel.settings import Settings
from tests.integration.runbooks.services import PrivateNats, PrivateRedis, free_port
from tests.waiting import eventually

PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)
REGIONS = ("syd", "sin")


@dataclass
class World:
    stack: Stack
    api: httpx.AsyncClient  # the control plane, with the local admin key
    redis: PrivateRedis
    nats: PrivateNats

    def origin(self, region: str) -> str:
        origin = next(r.origin for r in self.stack.desired.regions if r.name == region)
        assert origin, f"{region} has no origin in the stack's desired state"
        return origin


@pytest.fixture()
async def world(tmp_path: Path) -> AsyncIterator[World]:
    redis, nats = PrivateRedis("redis", tmp_path / "redis"), PrivateNats("nats", tmp_path / "nats")
    redis.start()
    nats.start()
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis.url, nats_url=nats.url,
                        prometheus_url=f"http://127.0.0.1:{free_port()}")
    desired = default_desired(PORTS, slo=SloPolicy(enforce=False))
    desired = desired.model_copy(update={
        "regions": tuple(r for r in desired.regions if r.name in REGIONS)})
    stack = Stack(desired, settings)
    await stack.start()
    try:
        key = (tmp_path / "data" / "admin.key").read_text().strip()
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30, headers={
                "Authorization": f"Bearer {key}"}) as api:
            yield World(stack, api, redis, nats)
    finally:
        await stack.stop()
        nats.stop()
        redis.stop()


async def gauge(w: World, region: str, name: str) -> float | None:
    """The value of a region's ``name`` gauge on its /metrics, None when not exported."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{w.origin(region)}/metrics")).text
    line = next((li for li in text.splitlines() if li.startswith(f'{name}{{region="{region}"}}')),
                None)
    return float(line.split()[-1]) if line is not None else None


async def runs_of(w: World, runbook: str) -> list[dict[str, Any]]:
    page = (await w.api.get("/v1/runs", params={"runbook": runbook})).json()
    return list(page["runs"])


async def started_everywhere(w: World, runbook: str, since: float) -> dict[str, dict[str, Any]]:
    """Each region's run of ``runbook`` started after ``since``, once both have one."""
    found: dict[str, dict[str, Any]] = {}

    async def both() -> bool:
        found.clear()
        found.update({r["region"]: r for r in await runs_of(w, runbook)
                      if r["started_at"] >= since})
        return set(found) == set(REGIONS)
    await eventually(both, f"a run of {runbook} in each of {REGIONS}", 90, interval=0.25)
    return found


async def waiting_at(w: World, run_id: int, step: str) -> dict[str, Any]:
    """The run once it waits for a person at ``step``; fails at once if it ended."""
    seen: dict[str, Any] = {}

    async def there() -> bool:
        seen.update((await w.api.get(f"/v1/runs/{run_id}")).json())
        assert seen["status"] not in ("failed", "timed_out", "succeeded"), \
            f"run #{run_id} {seen['status']}: {seen['error']}\n" + "\n".join(
                f"  {s['id']}: {s['status']} {s['output']} {s['error']}" for s in seen["steps"])
        return [s["id"] for s in seen["steps"] if s["status"] == "waiting_approval"] == [step]
    await eventually(there, f"run #{run_id} waiting at {step}", 90, interval=0.25)
    return seen


def states(run: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["status"] for s in run["steps"]}


def output(run: dict[str, Any], step: str) -> str:
    found = next(s for s in run["steps"] if s["id"] == step)
    return f"{found['output']} {found['error']}"


async def test_redis_stopped_starts_redis_outage_through_the_reconciler(world: World) -> None:
    w = world
    await eventually(lambda: _all_say(w, contract.CACHE_UP, 1), "cache_up 1 in every region", 30,
                     interval=0.2)
    assert not await runs_of(w, "redis-outage")  # an answering Redis starts nothing
    since = time.time()
    await asyncio.to_thread(w.redis.stop)
    runs = await started_everywhere(w, "redis-outage", since)
    for region, run in runs.items():
        assert run["actor"] == "reconciler:cache_down", run
        assert run["trigger"].startswith(f"verdict:cache_down:{region}:"), run
        seen = await waiting_at(w, run["id"], "restore-redis")
        assert output(seen, "cache-down").startswith("held: observed false")
        assert states(seen) | {"pool-saturating": "-"} == {
            "cache-down": "succeeded", "pool-saturating": "-", "drain": "succeeded",
            "restore-redis": "waiting_approval", "cache-up": "pending",
            "flush-stale": "pending", "warm": "pending", "restore-routes": "pending",
            "latency-normal": "pending"}
    # The verdict stands every pass: the repeats attach to the same run, none starts anew.
    await eventually(lambda: _all_say(w, contract.CACHE_UP, 0), "cache_up 0", 10, interval=0.2)
    assert {r["id"] for r in await runs_of(w, "redis-outage")} == {
        r["id"] for r in runs.values()}
    assert not await runs_of(w, "nats-outage")  # the bus still answers


async def test_nats_stopped_starts_nats_outage_through_the_reconciler(world: World) -> None:
    w = world
    await eventually(lambda: _all_say(w, contract.EVENT_BUS_UP, 1), "event_bus_up 1 everywhere",
                     30, interval=0.2)
    since = time.time()
    await asyncio.to_thread(w.nats.stop)
    async with httpx.AsyncClient(timeout=10) as http:  # an event to wait in the outbox
        created = await http.post(f"{w.origin('syd')}/v1/users", json={
            "name": "Ada", "email": "ada@example.au", "country": "AUS"})
        assert created.status_code == 201, created.text
    runs = await started_everywhere(w, "nats-outage", since)
    for region, run in runs.items():
        assert run["actor"] == "reconciler:bus_down", run
        assert run["trigger"].startswith(f"verdict:bus_down:{region}:"), run
        seen = await waiting_at(w, run["id"], "restore-nats")
        assert output(seen, "bus-down").startswith("held: observed false")
        # backlog is recorded either way (on_fail: continue): sin has no event waiting.
        assert states(seen) | {"backlog": "-"} == {
            "bus-down": "succeeded", "backlog": "-", "restore-nats": "waiting_approval",
            "bus-up": "pending", "outbox-empty": "pending"}
    backlog = output(await waiting_at(w, runs["syd"]["id"], "restore-nats"), "backlog")
    assert backlog.startswith("held: observed"), backlog  # the user's event waits
    assert not await runs_of(w, "redis-outage")  # the cache still answers


async def _all_say(w: World, name: str, value: float) -> bool:
    return all([await gauge(w, r, name) == value for r in REGIONS])
