"""``covenant bench region-failover``: the real stack (``covenant up`` as a subprocess on
ephemeral ports), a client load through its front door, and for each fault kind and trial:
time to detect (MTTD, from the incident the reconciler opened), time to reroute (seen from
outside on /v1/routes), client errors; then one reconcile pass's CPU and resident memory.

Beside the reads, a write load through the front door (``WriteLoad``: creates with an
Idempotency-Key, retried until acknowledged) counts the writes answered 503 during each
fault, and at the end the acknowledged writes lost (target 0) and any written twice.

Fault kinds: the region's proxy disabled, 500 ms latency and connection resets (through the
embedded Toxiproxy API), and ``errors``: the region API itself answering every request but
/live and /metrics with HTTP 500 (its ``/_chaos/fault``, which ``covenant up`` mounts); the
faults are ``chaos.faults``'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import child_env
from chaos.faults import FAULTS, Injector

POLL_S = 0.02


@dataclass
class Trial:
    fault: str
    region: str
    mttd_s: float | None
    reroute_s: float | None
    errors_during: int
    errors_after_reroute_1s: int
    requests_during: int
    writes_during: int = 0       # write attempts for the region's data while faulted
    writes_503_during: int = 0   # of those, answered 503 (+ Retry-After) by the front door
    writes_acked_during: int = 0


@dataclass
class Load:
    """Requests through the front door for one country per region, ~6 per second each."""

    url: str
    countries: dict[str, str]  # region -> an ISO3 whose home it is
    log: list[tuple[float, str, bool]] = field(default_factory=list)  # (t, home, ok)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            await asyncio.gather(*(self._one(client, r, c) for r, c in self.countries.items()))

    async def _one(self, client: httpx.AsyncClient, region: str, iso3: str) -> None:
        while not self.stop.is_set():
            started = time.time()
            try:
                ok = (await client.get(f"/v1/countries/{iso3}")).status_code == 200
            except httpx.HTTPError:
                ok = False
            self.log.append((started, region, ok))
            await asyncio.sleep(0.15)


@dataclass
class WriteLoad:
    """Project creates through the front door for one country per region, ~6 per second
    each, with an Idempotency-Key: a write not acknowledged (503, 502, no answer) is sent
    again with the same key until it is, as a careful client would."""

    url: str
    countries: dict[str, str]  # region -> an ISO3 whose home it is
    log: list[tuple[float, str, int]] = field(default_factory=list)  # (t, home, status)
    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (home, id)
    attempted: dict[str, str] = field(default_factory=dict)          # key -> home
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            await asyncio.gather(*(self._one(client, r, c) for r, c in self.countries.items()))

    async def _one(self, client: httpx.AsyncClient, region: str, iso3: str) -> None:
        while not self.stop.is_set():
            key = f"bench-{uuid.uuid4()}"
            self.attempted[key] = region
            body = {"name": key, "country": iso3, "sector": "energy", "budget_usd": 1000}
            while not self.stop.is_set():
                started = time.time()
                try:
                    r = await client.post("/v1/projects", json=body,
                                          headers={"idempotency-key": key})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                self.log.append((started, region, status))
                if status == 201:
                    self.acked[key] = (region, r.json()["id"])
                    break
                await asyncio.sleep(0.15)
            await asyncio.sleep(0.15)

    async def verify(self, countries: dict[str, str]) -> dict[str, int]:
        """Every acknowledged write in its home exactly once; no write anywhere twice."""
        names: dict[str, int] = {}
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            for iso3 in countries.values():
                offset = 0
                while True:
                    page = (await client.get("/v1/projects", params={
                        "country": iso3, "limit": 200, "offset": offset})).json()
                    for p in page["items"]:
                        names[p["name"]] = names.get(p["name"], 0) + 1
                    offset += len(page["items"])
                    if not page["items"] or offset >= page["total"]:
                        break
        return {"writes_acknowledged": len(self.acked),
                "acknowledged_writes_lost": sum(names.get(k, 0) == 0 for k in self.acked),
                "writes_duplicated": sum(names.get(k, 0) > 1 for k in self.attempted),
                "write_attempts": len(self.log),
                "write_attempts_503": sum(s == 503 for *_, s in self.log)}


async def _wait(cp: httpx.AsyncClient, cond: Any, timeout: float) -> float | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond((await cp.get("/v1/routes")).json()):
            return time.time()
        await asyncio.sleep(POLL_S)
    return None


async def _trial(cp: httpx.AsyncClient, faults: Injector, load: Load, writes: WriteLoad,
                 fault: str, region: str, phase_s: float) -> Trial:
    # Settling ends just after a reconcile pass; a real fault lands at any point of the
    # probe interval, so wait a random phase first (else MTTD is biased high).
    await asyncio.sleep(phase_s)
    injected = time.time()
    await faults.inject(fault, region)
    rerouted = await _wait(cp, lambda r: r[region].get(region, 0) == 0, 15)
    opened = await _opened_at(cp, region, injected)
    await asyncio.sleep(2.0)  # load keeps running on the new route
    restored = time.time()
    await _restore(faults, fault, region)
    await _wait(cp, lambda r: all(r[h].get(h, 0) == 100 for h in r), 30)
    await _settle(cp)
    window = [(t, ok) for t, home, ok in load.log if home == region and injected <= t < restored]
    after = [ok for t, ok in window if rerouted is not None and t >= rerouted + 1.0]
    wrote = [s for t, home, s in writes.log if home == region and injected <= t < restored]
    return Trial(fault, region, min(opened) - injected if opened else None,
                 rerouted - injected if rerouted else None,
                 sum(not ok for _, ok in window), sum(not ok for ok in after), len(window),
                 len(wrote), sum(s == 503 for s in wrote), sum(s == 201 for s in wrote))


async def _restore(faults: Injector, fault: str, region: str) -> None:
    """Lift the fault; one already lifted is fine (a runbook's chaos pause lifts the faults
    in place when its region's incident opens)."""
    from chaos.errors import ClientError

    try:
        await faults.restore(fault, region)
    except ClientError as exc:
        if exc.status != 404:
            raise
        print(f"{fault} on {region} was already lifted ({exc.message})", flush=True)


async def _opened_at(cp: httpx.AsyncClient, region: str, since: float) -> list[float]:
    """When the reconciler opened an incident for ``region`` after ``since`` (it is recorded
    just after the routes are applied, so wait a little for it)."""
    deadline = time.time() + 3
    while time.time() < deadline:
        incidents = (await cp.get("/v1/incidents", params={"limit": 5})).json()
        opened = [i["opened_at"] for i in incidents
                  if i["region"] == region and i["opened_at"] >= since]
        if opened:
            return opened
        await asyncio.sleep(POLL_S)
    return []


async def _settle(cp: httpx.AsyncClient, timeout: float = 30) -> None:
    """Until every region is healthy and no incident is open."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        regions = (await cp.get("/v1/regions")).json()
        open_incidents = (await cp.get("/v1/incidents", params={"status": "open"})).json()
        if all(r["state"] == "healthy" for r in regions) and not open_incidents:
            return
        await asyncio.sleep(0.2)


def _start_stack(workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    config = workdir / "covenant.yaml"
    config.write_text("stack: {control_plane: 0, front_door: 0, region_api_base: 0, "
                      f"proxy_base: 0, toxiproxy: 0}}\nsettings: {{data_dir: '{workdir}/data'}}\n")
    with open(workdir / "up.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from covenant.cli import main; "
                                 "main()", "up", "--config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, env=child_env())
    described = workdir / "data" / "stack.json"
    deadline = time.monotonic() + 300
    while not described.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"covenant up did not start; see {workdir / 'up.log'}")
        time.sleep(0.2)
    return proc, json.loads(described.read_text())


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _six_region_desired(stack: dict[str, Any]) -> Any:
    from controlplane.desired import default_desired

    desired = default_desired()
    regions = tuple(r.model_copy(update={"endpoint": stack["regions"][r.name]["endpoint"]})
                    for r in desired.regions)
    return desired.model_copy(update={"regions": regions})


async def _cpu_per_pass(stack: dict[str, Any], workdir: Path) -> dict[str, float]:
    """CPU ms (median) of decide() alone on six regions, and of whole reconcile passes
    (observe the six regions through their proxies: 24 requests; lease; decide; act; record
    in SQLite) by a second, independent replica in this otherwise idle process."""
    from controlplane.assembly import build_control_plane
    from controlplane.decide import ReconcilerState, decide
    from controlplane.observation import ProbeStatus, RegionObservation
    from kernel.settings import Settings

    desired = _six_region_desired(stack)
    obs = {n: RegionObservation(n, 0, ProbeStatus.UP, 0.01, 10, 0, True)
           for n in desired.region_names()}
    state, decide_ms = ReconcilerState(), []
    for i in range(500):
        started = time.process_time()
        state = decide(desired, obs, state, float(i)).state
        decide_ms.append((time.process_time() - started) * 1000)
    from prometheus_client import CollectorRegistry

    from controlplane.anomalies import build_anomaly_watch

    # As ``covenant up`` runs it: the anomaly watch scores 24 series and sets their gauges.
    registry = CollectorRegistry()
    watch = build_anomaly_watch(registry, workdir / "cpu-replica" / "anomaly")
    plane = build_control_plane(desired, Settings(data_dir=workdir / "cpu-replica"),
                                signals=watch.source, plots=watch.source, registry=registry)
    pass_ms = []
    try:
        for _ in range(30):
            started = time.process_time()
            await plane.reconciler.run_once()
            pass_ms.append((time.process_time() - started) * 1000)
    finally:
        await plane.close()
    return {"decide_cpu_ms": round(statistics.median(decide_ms), 3),
            "reconcile_pass_cpu_ms": round(statistics.median(pass_ms[5:]), 2),
            "reconcile_pass_cpu_ms_p90": round(sorted(pass_ms[5:])[int(0.9 * 25)], 2)}


def _memory(proc: subprocess.Popen[bytes], stack: dict[str, Any]) -> dict[str, float]:
    control_plane = _rss_mb(proc.pid)
    regions = {r: _rss_mb(pid) for r, pid in stack["region_pids"].items()}
    front_door = _rss_mb(stack["front_door_pid"])  # its own process since issue 14
    return {"control_plane_rss_mb": round(control_plane, 1),
            "region_api_rss_mb_max": round(max(regions.values()), 1),
            "front_door_rss_mb": round(front_door, 1),
            "stack_rss_mb": round(control_plane + front_door + sum(regions.values()), 1)}


def _summary(trials: list[Trial]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fault in FAULTS:
        ts = [t for t in trials if t.fault == fault]
        mttd = [t.mttd_s for t in ts if t.mttd_s is not None]
        reroute = [t.reroute_s for t in ts if t.reroute_s is not None]
        out[fault] = {
            "trials": len(ts), "detected": len(mttd), "rerouted": len(reroute),
            "mttd_s_median": round(statistics.median(mttd), 3) if mttd else None,
            "mttd_s_worst": round(max(mttd), 3) if mttd else None,
            "reroute_s_median": round(statistics.median(reroute), 3) if reroute else None,
            "reroute_s_worst": round(max(reroute), 3) if reroute else None,
            "client_requests": sum(t.requests_during for t in ts),
            "client_errors": sum(t.errors_during for t in ts),
            "client_errors_from_1s_after_reroute": sum(t.errors_after_reroute_1s for t in ts),
            "writes": sum(t.writes_during for t in ts),
            "writes_503": sum(t.writes_503_during for t in ts),
            "writes_acknowledged": sum(t.writes_acked_during for t in ts),
        }
    return out


def _homes() -> dict[str, str]:
    from core_api.countries import load_countries

    homes: dict[str, str] = {}
    for country in load_countries():
        homes.setdefault(country.home_region, country.iso3)
    return homes


async def _measure(stack: dict[str, Any], trials: int) -> tuple[list[Trial], dict[str, Any]]:
    from chaos.client import ToxiproxyClient

    homes = _homes()
    load = Load(stack["front_door"], homes)
    writes = WriteLoad(stack["front_door"], homes)
    runner = asyncio.create_task(load.run())
    writer = asyncio.create_task(writes.run())
    names = list(stack["regions"])
    phases = random.Random(20261125)  # fixed seed: the same phases on every run
    results: list[Trial] = []
    key = Path(stack["admin_key_file"]).read_text().strip()  # incidents need a key
    async with httpx.AsyncClient(base_url=stack["control_plane"], timeout=10,
                                 headers={"Authorization": f"Bearer {key}"}) as cp, \
            ToxiproxyClient(stack["toxiproxy"]) as tox, httpx.AsyncClient(timeout=10) as http:
        faults = Injector(tox, http, {r: v["origin"] for r, v in stack["regions"].items()})
        await _settle(cp, timeout=60)
        for fault in FAULTS:
            for i in range(trials):
                trial = await _trial(cp, faults, load, writes, fault, names[i % len(names)],
                                     phases.uniform(0.0, 1.0))
                print(f"{trial.fault:18} {trial.region}: MTTD {trial.mttd_s} s, reroute "
                      f"{trial.reroute_s} s, client errors {trial.errors_during} "
                      f"({trial.errors_after_reroute_1s} from 1 s after reroute), writes "
                      f"{trial.writes_during} ({trial.writes_503_during} answered 503)",
                      flush=True)
                results.append(trial)
    load.stop.set()
    writes.stop.set()
    await runner
    await writer
    extra = {"load_requests": len(load.log), "load_errors": sum(not ok for *_, ok in load.log),
             **await writes.verify(homes)}
    return results, extra


async def run_bench(trials: int, as_json: bool, data_dir: Path | None) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    workdir = data_dir or Path(tempfile.mkdtemp(prefix="covenant-failover-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc, stack = _start_stack(workdir.resolve())
    startup_s = time.monotonic() - started
    try:
        results, load = await _measure(stack, trials)
        memory = _memory(proc, stack)
        cpu = await _cpu_per_pass(stack, workdir)
    finally:
        stopping = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        exit_code = proc.wait(timeout=60)
        shutdown_s = time.monotonic() - stopping
    figures = {"trials_per_fault": trials, "faults": _summary(results), **cpu, **memory, **load,
               "startup_s": round(startup_s, 1), "shutdown_s": round(shutdown_s, 2),
               "up_exit_code": exit_code,
               "targets": {"mttd_s": 2.0, "reroute_s": 3.0, "reconcile_cpu_ms": 20.0,
                           "control_plane_rss_mb": 300, "region_api_rss_mb": 150,
                           "stack_rss_mb": 1536, "acknowledged_writes_lost": 0}}
    if as_json:
        print(json.dumps(figures, separators=(",", ":")))
    else:
        print(json.dumps(figures, indent=2))
    return figures
