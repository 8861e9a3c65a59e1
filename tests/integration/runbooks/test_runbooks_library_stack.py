"""The ten shipped runbooks against one real stack (``covenant up`` on ephemeral ports,
with a private Redis, a private NATS, a Prometheus scraping it with the SLO rules and a
PagerDuty stand-in): each fault that can be made here is made, and its runbook runs for
real, started by the reconciler (region down, slow, burning its budget, Redis or NATS
stopped); approvals go through the API with the local admin key. The five that need what
this stack has not (a database pair, compliance) run as dry runs and are refused for real,
naming what is missing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from controlplane.desired import SloPolicy, StackPorts, default_desired
from covenant.stack import Stack
from kernel.settings import Settings
from tests.integration.runbooks.services import (
    PagerDuty,
    PrivateNats,
    PrivatePrometheus,
    PrivateRedis,
)
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")
PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)
CLI = "from covenant.cli import main; main()"
REAL = {"region-unreachable", "latency-spike", "error-budget-fast-burn", "redis-outage",
        "nats-outage"}
DRY = {"postgres-primary-down": "probe db.role cannot observe here",
       "replication-lag-high": "db.replication_lag_s cannot observe here",
       "db-disk-filling": "db.disk_free_ratio cannot observe here",
       "residency-violation": "residency.quarantine cannot act here",
       "evidence-collection-failing": "evidence.age_s cannot observe here"}


@dataclass
class World:
    stack: Stack
    api: httpx.AsyncClient       # the control plane, with the local admin key
    tox: httpx.AsyncClient       # the embedded Toxiproxy's HTTP API
    redis: PrivateRedis
    nats: PrivateNats
    pager: PagerDuty
    data: Path

    def origin(self, region: str) -> str:
        return next(r.origin for r in self.stack.desired.regions if r.name == region)

    def endpoint(self, region: str) -> str:
        return next(r.endpoint for r in self.stack.desired.regions if r.name == region)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    root = tmp_path_factory.mktemp("runbooks-stack")
    redis, nats = PrivateRedis("redis", root / "redis"), PrivateNats("nats", root / "nats")
    prometheus, pager = PrivatePrometheus("prometheus", root / "prometheus"), PagerDuty()
    redis.start()
    nats.start()
    settings = Settings(data_dir=root / "data", redis_url=redis.url, nats_url=nats.url,
                        prometheus_url=prometheus.url, pagerduty_routing_key="rk-test",
                        pagerduty_url=pager.url)
    # SLO enforcement off: its budgets need hours of data; a budget burn reaches the
    # reconciler here as a region erroring (controlplane.triggers).
    stack = Stack(default_desired(PORTS, slo=SloPolicy(enforce=False)), settings)
    await stack.start()
    try:
        prometheus.targets = {"control-plane": stack.api_url.removeprefix("http://"),
                              **{f"core-{r.name}": r.origin.removeprefix("http://")
                                 for r in stack.desired.regions}}
        prometheus.start()
        await eventually(prometheus.ready, "Prometheus ready", 30, interval=0.1)
        key = (root / "data" / "admin.key").read_text().strip()
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30, headers={
                "Authorization": f"Bearer {key}"}) as api, \
                httpx.AsyncClient(base_url=stack.toxiproxy.url if stack.toxiproxy else "",
                                  timeout=10) as tox:
            yield World(stack, api, tox, redis, nats, pager, root / "data")
    finally:
        await stack.stop()
        prometheus.stop()
        nats.stop()
        redis.stop()
        pager.close()


async def run_of(w: World, runbook: str, region: str, since: float,
                 timeout: float = 90) -> dict[str, Any]:
    """The first run of ``runbook`` in ``region`` started after ``since``, once there is one
    (a loaded machine makes a region slow now and then: its runs are not this test's)."""
    found: list[dict[str, Any]] = []

    async def started() -> bool:
        page = (await w.api.get("/v1/runs", params={"runbook": runbook, "region": region})
                ).json()
        found[:] = [r for r in page["runs"] if r["started_at"] >= since][-1:]
        return bool(found)
    await eventually(started, f"a run of {runbook} in {region}", timeout, interval=0.25)
    return found[0]


async def reaches(w: World, run_id: int, status: str, step: str = "",
                  timeout: float = 120) -> dict[str, Any]:
    """The run once it has ``status`` (and ``step`` is the step waiting, when given)."""
    seen: dict[str, Any] = {}

    async def there() -> bool:
        seen.update((await w.api.get(f"/v1/runs/{run_id}")).json())
        if seen["status"] in ("failed", "timed_out") and status not in seen["status"]:
            raise AssertionError(f"run #{run_id} {seen['status']}: {seen['error']}\n"
                                 + "\n".join(f"{s['id']}: {s['status']} {s['output']} "
                                             f"{s['error']}" for s in seen["steps"]))
        waiting = [s["id"] for s in seen["steps"] if s["status"] == "waiting_approval"]
        return bool(seen["status"] == status and (not step or waiting == [step]))
    try:
        await eventually(there, f"run #{run_id} {status} {step}", timeout, interval=0.25)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the run: {seen['status']} {seen['error']}\n" + "\n".join(
            f"  {s['id']}: {s['status']} {s['output']} {s['error']}" for s in seen["steps"])
            ) from None
    return seen


def step_states(run: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["status"] for s in run["steps"]}


def output(run: dict[str, Any], step: str) -> str:
    found = next(s for s in run["steps"] if s["id"] == step)
    return f"{found['output']} {found['error']}"


async def approve(w: World, run_id: int, step: str) -> None:
    done = await w.api.post(f"/v1/runs/{run_id}/steps/{step}/approve")
    assert done.status_code == 200, done.text
    assert done.json()["by"] == "local-admin"


async def target(w: World, region: str) -> str:
    return str((await w.api.get("/v1/routes")).json()[region])


async def routed(w: World, region: str, to: str) -> bool:
    routes = (await w.api.get("/v1/routes")).json()
    return max(routes[region], key=routes[region].get) == to


async def test_region_unreachable_is_started_by_the_reconciler_and_drains_the_region(
        world: World) -> None:
    w = world
    since = time.time()
    assert (await w.tox.post("/proxies/syd_api", json={"enabled": False})).status_code == 200
    run = await run_of(w, "region-unreachable", "syd", since)
    assert run["actor"] == "reconciler:region_down" and run["trigger"].startswith(
        "verdict:region_down:syd:")
    run = await reaches(w, run["id"], "waiting", "investigate")
    assert step_states(run) | {"investigate": "-", "reachable-again": "-", "restore": "-"} == {
        "unreachable": "succeeded", "users-affected": "succeeded", "already-drained":
        "succeeded", "drain": "succeeded", "undo-drain": "pending", "others-absorb":
        "succeeded", "note": "succeeded", "investigate": "-", "reachable-again": "-",
        "restore": "-"}
    assert "syd drained: its traffic goes to sin" in output(run, "drain")
    [incident] = [i for i in (await w.api.get("/v1/incidents", params={"status": "open"})
                              ).json() if i["region"] == "syd"]
    assert incident["runs"] == [run["id"]] and run["incident"] == incident["id"]
    assert any(e["kind"] == "note" for e in incident["timeline"])
    assert (await w.tox.post("/proxies/syd_api", json={"enabled": True})).status_code == 200
    await eventually(lambda: _reachable(w, "syd"), "syd reachable again", 30, interval=0.25)
    assert await routed(w, "syd", "sin")  # healthy or not, drained until the run restores
    await approve(w, run["id"], "investigate")
    run = await reaches(w, run["id"], "succeeded")
    assert "syd restored" in output(run, "restore")
    await eventually(lambda: routed(w, "syd", "syd"), "syd's traffic back home", 60,
                     interval=0.25)


async def _reachable(w: World, region: str) -> bool:
    seen = (await w.api.get("/v1/probes/region.reachable", params={"region": region})).json()
    return seen["value"] is True


async def test_latency_spike_is_started_by_the_reconciler_and_pauses_chaos(world: World) -> None:
    w = world
    toxic = {"name": "slow", "type": "latency", "attributes": {"latency": 1000}}
    since = time.time()
    assert (await w.tox.post("/proxies/iad_api/toxics", json=toxic)).status_code == 200
    run = await run_of(w, "latency-spike", "iad", since)
    assert run["actor"] == "reconciler:latency"
    run = await reaches(w, run["id"], "waiting", "approve-pause", timeout=120)
    assert output(run, "chaos-injected").startswith("held: observed true")  # recorded
    assert len((await w.tox.get("/proxies/iad_api/toxics")).json()) == 1  # not on its own
    await approve(w, run["id"], "approve-pause")
    run = await reaches(w, run["id"], "succeeded", timeout=120)
    assert step_states(run)["pause-chaos"] == "succeeded"
    assert "chaos paused (latency spike in iad), 1 fault(s) held back" in output(
        run, "pause-chaos")
    assert output(run, "slow").startswith("held: observed")
    assert step_states(run)["api-slow"] == "succeeded"  # recorded, held or not
    assert (await w.tox.get("/proxies/iad_api/toxics")).json() == []  # the fault is lifted
    paused = (await w.api.get("/v1/probes/chaos.paused")).json()
    assert paused["value"] is True  # and stays paused until a person resumes it


async def test_error_budget_fast_burn_pages_and_waits_for_deploys_to_be_held(
        world: World) -> None:
    w = world
    async with httpx.AsyncClient(timeout=10) as http:
        fault = {"error_rate": 1.0, "status": 500, "probes": False}
        since = time.time()
        assert (await http.put(f"{w.origin('sfo')}/_chaos/fault", json=fault)).is_success
        stop = asyncio.Event()
        load = asyncio.create_task(_traffic(http, f"{w.endpoint('sfo')}/v1/countries/USA",
                                            stop))
        try:
            run = await run_of(w, "error-budget-fast-burn", "sfo", since)
            assert run["actor"] == "reconciler:budget_burn"
            run = await reaches(w, run["id"], "waiting", "hold-deploys", timeout=150)
        finally:
            stop.set()
            await load
            await http.delete(f"{w.origin('sfo')}/_chaos/fault")
    states = step_states(run)
    assert states["burning"] == states["page"] == states["chaos-paused"] == "succeeded"
    assert states["pause-chaos"] == "skipped"  # chaos was already paused: not done twice
    assert "raised to P1 and paged" in output(run, "page")
    [event] = [e for e in w.pager.events if e["dedup_key"] == f"covenant-runbook-{run['id']}"]
    assert event["routing_key"] == "rk-test" and event["payload"]["severity"] == "critical"
    assert event["payload"]["component"] == "sfo"
    [incident] = [i for i in (await w.api.get("/v1/incidents")).json()
                  if i["region"] == "sfo" and run["id"] in i["runs"]]
    assert any(e["kind"] == "escalated" and e["severity"] == "P1" for e in incident["timeline"])
    await approve(w, run["id"], "hold-deploys")
    run = await reaches(w, run["id"], "succeeded")
    assert "on_fail: continue" in output(run, "gate-frozen")  # recorded: the gate allows


async def _traffic(http: httpx.AsyncClient, url: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(httpx.HTTPError):
            await http.get(url)
        await asyncio.sleep(0.03)


async def test_redis_outage_drains_restores_flushes_and_warms(world: World) -> None:
    w = world
    since = time.time()
    await asyncio.to_thread(w.redis.stop)
    # Every region shares the one Redis: the reconciler's cache_down starts a run in each.
    runs = {r.name: await run_of(w, "redis-outage", r.name, since)
            for r in w.stack.desired.regions}
    assert {run["actor"] for run in runs.values()} == {"reconciler:cache_down"}
    run_id = runs["jnb"]["id"]
    run = await reaches(w, run_id, "waiting", "restore-redis")
    assert output(run, "cache-down").startswith("held: observed false")
    assert await routed(w, "jnb", "sin") or await routed(w, "jnb", "ams") or \
        await routed(w, "jnb", "jnb")  # every region drained: the routes fail open
    await asyncio.to_thread(w.redis.start)
    async with httpx.AsyncClient(timeout=10) as http:
        stop = asyncio.Event()
        load = asyncio.create_task(_traffic(http, f"{w.endpoint('jnb')}/v1/countries/ZAF",
                                            stop))
        try:
            for other in runs.values():  # Redis is back everywhere: restored, as a person says
                await reaches(w, other["id"], "waiting", "restore-redis")
                await approve(w, other["id"], "restore-redis")
            run = await reaches(w, run_id, "succeeded", timeout=120)
        finally:
            stop.set()
            await load
    assert "deleted" in output(run, "flush-stale") and "cached entries of jnb" in output(
        run, "flush-stale")
    assert "warmed" in output(run, "warm") and "pages of jnb" in output(run, "warm")
    await eventually(lambda: routed(w, "jnb", "jnb"), "jnb's traffic back", 30, interval=0.25)


async def test_nats_outage_records_the_backlog_and_watches_it_drain(world: World) -> None:
    w = world
    since = time.time()
    await asyncio.to_thread(w.nats.stop)
    async with httpx.AsyncClient(timeout=10) as http:
        user = {"name": "Thandi", "email": "thandi@example.za", "country": "ZAF"}
        created = await http.post(f"{w.origin('jnb')}/v1/users", json=user)
        assert created.status_code == 201, created.text
    # jnb's redis-outage run has ended, so the reconciler's bus_down starts one there (the
    # regions whose redis-outage run still verifies their latency hold it meanwhile).
    run = await run_of(w, "nats-outage", "jnb", since)
    assert run["actor"] == "reconciler:bus_down"
    run_id = run["id"]
    run = await reaches(w, run_id, "waiting", "restore-nats")
    assert output(run, "bus-down").startswith("held: observed false")
    assert output(run, "backlog").startswith("held: observed")  # events wait in the outbox
    await asyncio.to_thread(w.nats.start)
    await approve(w, run_id, "restore-nats")
    run = await reaches(w, run_id, "succeeded", timeout=180)
    assert output(run, "outbox-empty").startswith("held: observed 0")


async def test_the_other_five_run_as_dry_runs_and_are_refused_for_real(world: World) -> None:
    w = world
    # In jnb: its redis-outage and nats-outage runs have ended; the other regions' runs (the
    # reconciler's, started in each when Redis stopped) still verify their latency and hold
    # the region against another automation (409 before the refusal).
    listed = {r["id"]: r for r in (await w.api.get("/v1/runbooks")).json()}
    assert {i for i, r in listed.items() if r["runnable"]} == REAL
    for runbook, why in DRY.items():
        dry = await w.api.post(f"/v1/runbooks/{runbook}/runs",
                               json={"region": "jnb", "dry_run": True})
        assert dry.status_code == 201 and dry.json()["decision"] == "dry_run", dry.text
        assert len(dry.json()["plan"]) >= 5 and all("jnb" in s["call"] or s["kind"] in (
            "manual", "approval") or "{" not in s["call"] for s in dry.json()["plan"])
        real = await w.api.post(f"/v1/runbooks/{runbook}/runs", json={"region": "jnb"})
        assert real.status_code == 422 and "cannot run for real in this stack" in real.text
        assert why in real.text and any(why in p for p in listed[runbook]["blocked"])
    assert not (await w.api.get("/v1/runs", params={"runbook": "postgres-primary-down"})
                ).json()["runs"]


async def test_the_cli_and_the_pages_use_the_local_admin_key(world: World) -> None:
    w = world
    key = w.data / "admin.key"
    assert key.stat().st_mode & 0o777 == 0o600
    env = {**os.environ, "COVENANT_DATA_DIR": str(w.data), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True,
                              text=True, env=env, timeout=60)
    status = await asyncio.to_thread(cli, "runbook", "status", "--url", w.stack.api_url)
    assert status.returncode == 0, status.stderr
    assert "region-unreachable" in status.stdout and "succeeded" in status.stdout
    made = await asyncio.to_thread(cli, "keys", "create", "--role", "auditor", "--name", "aud")
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[-1]
    async with httpx.AsyncClient(base_url=w.stack.api_url, timeout=10) as c:
        auditor = {"Authorization": f"Bearer {token}"}
        assert (await c.get("/v1/runs", headers=auditor)).status_code == 200
        assert (await c.post("/v1/runbooks/latency-spike/runs", json={"region": "ams"},
                             headers=auditor)).status_code == 403
        revoked = await asyncio.to_thread(cli, "keys", "revoke", "aud")
        assert revoked.returncode == 0, revoked.stderr
        assert (await c.get("/v1/runs", headers=auditor)).status_code == 401
        page = await c.get("/runbooks/region-unreachable")  # open: no runs without a key
        assert page.status_code == 200 and "No runs recorded." in page.text
    page = await w.api.get("/runbooks/region-unreachable")
    assert "reconciler:region_down" in page.text and "succeeded" in page.text
