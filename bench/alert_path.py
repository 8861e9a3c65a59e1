"""``covenant bench alert-path``: from a fault to the runbook it should start, through the
real monitoring path, hop by hop.

A region's API is made to answer every user request with 500 (its own ``/_chaos/fault``,
``probes: false``: up and ready, erroring) while traffic reaches it through the front door.
Prometheus (the generated configuration, the SLO rules) sees the availability SLO burn: the
page alert ``CoreApiAvailability{sloth_severity="page"}`` goes pending, then firing after its
``for: 2m``; Alertmanager (the generated configuration: the ``page`` route's ``group_wait``
10 s) notifies the control plane's webhook with the stack's ``alertmanager`` key; the
webhook starts ``error-budget-fast-burn`` for the region. The timestamps are the components'
own: the fault's (taken here), the alert's ``activeAt`` (Prometheus), its ``startsAt`` (when
it fired: in the run's trigger key), when Alertmanager received it (``updatedAt``), the run's
``started_at`` and its first step's (the journal). All on this machine's clock.

Only the alert starts the run: the stack runs with the reconciler's 5xx-ratio judgement out
of reach (``health.min_requests``) and SLO enforcement off, because otherwise the reconciler's
own ``budget_burn`` verdict starts the same runbook within seconds and the alert, two minutes
later, attaches to that run (docs/benchmarks.md).

The benchmark runs ``covenant up`` (a subprocess, fixed free ports) with Prometheus and
Alertmanager beside it, configured by ``infra`` as ``--with-prometheus`` configures them (5 s
scrapes and evaluations, the generated rules and routes) but started first: the runbook's
first step is a PromQL check, so the stack needs ``prometheus_url``, and ``covenant up``
refuses a ``prometheus_url`` that does not answer yet, which rules out pointing it at the
Prometheus ``--with-prometheus`` is about to start (without it the runbook is refused for
real: docs/benchmarks.md, "The alert path"). The integration test
(tests/integration/observability) drives the same measurement against the stack in its own
process with 1 s scrapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench import child_env
from core_api.contract import CHAOS_FAULT_PATH
from kernel.regions import REGION_CODES

ALERT = "CoreApiAvailability"
RUNBOOK = "error-budget-fast-burn"
REGION, COUNTRY = "syd", "AUS"
FAULT = {"error_rate": 1.0, "status": 500, "probes": False}
POLL_S = 0.25
TIMEOUT_S = 420.0
SCRAPE = "5s"  # what `covenant up --with-prometheus` scrapes and evaluates at
HOST = "127.0.0.1"
CONFIG = """\
stack: {{control_plane: {p.control_plane}, front_door: {p.front_door},
        region_api_base: {p.region_api_base}, proxy_base: 0, toxiproxy: 0}}
health: {{min_requests: 1000000000}}   # the reconciler leaves 5xx to the alert
slo: {{enforce: false}}
settings: {{data_dir: '{data}', prometheus_url: '{prometheus}'}}
"""
WebhookTimes = Callable[[], Sequence[tuple[float, str, Mapping[str, str]]]]


@dataclass(frozen=True)
class Target:
    """Where the stack under test answers."""

    front_door: str
    origin: str          # the faulted region's API itself (its fault switch)
    control_plane: str
    prometheus: str
    alertmanager: str
    admin_key: str
    region: str = REGION
    country: str = COUNTRY


@dataclass
class AlertPath:
    """Wall-clock times (seconds since the epoch) of each hop; None: not seen."""

    fault_at: float
    pending_at: float | None = None       # Prometheus: the alert's activeAt
    firing_at: float | None = None        # the alert's startsAt as Alertmanager sent it
    alertmanager_at: float | None = None  # Alertmanager received it (updatedAt)
    webhook_at: float | None = None       # the webhook handed it on (only when observable)
    run_at: float | None = None           # the run's started_at (journal)
    first_step_at: float | None = None    # its first step's started_at (journal)
    run: dict[str, Any] = field(default_factory=dict)

    def hops(self) -> dict[str, float]:
        """Seconds from each point to the next one seen, in order."""
        points = [(n, t) for n, t in (
            ("fault", self.fault_at), ("pending", self.pending_at), ("firing", self.firing_at),
            ("alertmanager", self.alertmanager_at), ("webhook", self.webhook_at),
            ("run_started", self.run_at), ("first_step", self.first_step_at)) if t is not None]
        return {f"{a}->{b}": round(tb - ta, 3)
                for (a, ta), (b, tb) in zip(points, points[1:], strict=False)}

    def figures(self) -> dict[str, Any]:
        hops = self.hops()
        total = (self.run_at - self.fault_at) if self.run_at is not None else None
        shares = {k: round(v / total, 3) for k, v in hops.items()
                  if total and not k.endswith("first_step")}
        return {"fault_to_run_started_s": round(total, 2) if total is not None else None,
                "hops_s": hops, "shares": shares, "run_id": self.run.get("id"),
                "run_actor": self.run.get("actor"), "times": {
                    k: v for k, v in asdict(self).items() if k != "run"}}


def rfc3339(text: str) -> float:
    """Seconds since the epoch of Prometheus's and Alertmanager's timestamps (nanoseconds
    and ``Z`` included, which ``datetime.fromisoformat`` reads only up to microseconds)."""
    text = text.replace("Z", "+00:00")
    main, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{main}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text).timestamp()


def matches(labels: Mapping[str, str], region: str) -> bool:
    """The region's page-severity availability alert."""
    return (labels.get("alertname") == ALERT and labels.get("sloth_severity") == "page"
            and labels.get("sloth_slo") == f"availability-{region}")


async def traffic(target: Target, stop: asyncio.Event, counts: dict[int, int]) -> None:
    """Reads of the region's home country through the front door, ~20 a second."""
    async with httpx.AsyncClient(base_url=target.front_door, timeout=5) as client:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                r = await client.get(f"/v1/countries/{target.country}")
                counts[r.status_code] = counts.get(r.status_code, 0) + 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)


async def _until(check: Callable[[], Any], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"alert path: no {what} after {timeout:g} s")
        await asyncio.sleep(POLL_S)


async def sli_ready(http: httpx.AsyncClient, target: Target) -> bool:
    """Prometheus has the region's availability SLI (the rate needs two scrapes)."""
    r = await http.get(f"{target.prometheus}/api/v1/query", params={
        "query": f'slo:sli_error:ratio_rate5m{{sloth_slo="availability-{target.region}"}}'})
    return r.is_success and bool(r.json()["data"]["result"])


async def _observe(http: httpx.AsyncClient, target: Target, path: AlertPath,
                   webhook: WebhookTimes | None) -> bool:
    """One look at every component; True once the run and its first step are seen."""
    if path.pending_at is None:
        alerts = (await http.get(f"{target.prometheus}/api/v1/alerts")).json()
        for a in alerts["data"]["alerts"]:
            if matches(a["labels"], target.region):
                path.pending_at = rfc3339(a["activeAt"])
    if path.alertmanager_at is None:
        for a in (await http.get(f"{target.alertmanager}/api/v2/alerts")).json():
            if matches(a["labels"], target.region):
                path.alertmanager_at = rfc3339(a["updatedAt"])
                path.firing_at = rfc3339(a["startsAt"])
    if webhook is not None and path.webhook_at is None:
        path.webhook_at = next((at for at, name, labels in webhook()
                                if name == ALERT and matches(labels, target.region)), None)
    if path.run_at is None:
        runs = (await http.get(f"{target.control_plane}/v1/runs", params={
            "runbook": RUNBOOK, "region": target.region})).json()["runs"]
        mine = [r for r in runs if r["started_at"] >= path.fault_at]
        if mine:
            path.run = mine[-1]
            path.run_at = float(mine[-1]["started_at"])
    if path.run_at is not None and path.first_step_at is None:
        detail = (await http.get(f"{target.control_plane}/v1/runs/{path.run['id']}")).json()
        path.run = detail
        started = [s["started_at"] for s in detail["steps"] if s["started_at"] is not None]
        path.first_step_at = min(started) if started else None
    return path.first_step_at is not None


async def drive(target: Target, webhook: WebhookTimes | None = None,
                timeout: float = TIMEOUT_S) -> AlertPath:
    """Traffic on, wait for the SLI, fault on, and watch every hop until the runbook's first
    step has started (or ``timeout``); the fault is lifted and the traffic stopped after."""
    stop, counts = asyncio.Event(), dict[int, int]()
    load = asyncio.create_task(traffic(target, stop, counts))
    headers = {"Authorization": f"Bearer {target.admin_key}"}
    async with httpx.AsyncClient(timeout=10, headers=headers) as http:
        try:
            await _until(lambda: sli_ready(http, target), "availability SLI in Prometheus",
                         120)
            (await http.put(f"{target.origin}{CHAOS_FAULT_PATH}", json=FAULT)
             ).raise_for_status()
            path = AlertPath(fault_at=time.time())
            await _until(lambda: _observe(http, target, path, webhook),
                         f"run of {RUNBOOK} in {target.region} with a started step", timeout)
        finally:
            stop.set()
            await load
            with contextlib.suppress(httpx.HTTPError):
                await http.delete(f"{target.origin}{CHAOS_FAULT_PATH}")
    if not counts.get(500):
        raise RuntimeError(f"alert path: the fault never reached the users: {counts}")
    return path


@dataclass(frozen=True)
class Ports:
    """Fixed ports for the stack, so Prometheus can be configured before it starts."""

    control_plane: int
    front_door: int
    region_api_base: int  # the six region APIs on this port and the five after it
    prometheus: int
    alertmanager: int


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports() -> Ports:
    """Free ports (checked, not held: a race with another process fails the start loudly)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 40_000, 10)
        ports = list(range(base, base + 10))
        if all(_bindable(p) for p in ports):
            return Ports(ports[6], ports[7], base, ports[8], ports[9])
    raise RuntimeError("alert path: no ten free ports in 20000-40000")


def rule_files() -> dict[str, str]:
    """The shipped SLOs' rule files, as ``slo generate`` writes them (and as
    ``covenant up --with-prometheus`` loads them)."""
    from slo.generate import generate
    from slo.spec import default_spec_path, load_group

    files: dict[str, str] = {}
    generate(load_group(default_spec_path()), Path("rules"), tests=False,
             writer=lambda path, text: files.__setitem__(path.name, text))
    return {name: text for name, text in files.items() if name.endswith(".rules.yml")}


@contextlib.asynccontextmanager
async def monitoring(workdir: Path, ports: Ports) -> AsyncIterator[tuple[str, str]]:
    """Prometheus and Alertmanager configured by ``infra`` for the stack's ports, as
    ``covenant up --with-prometheus`` starts them (5 s scrapes), but before the stack: the
    stack's ``prometheus_url`` must answer when it starts. Alertmanager sends the stack's
    ``alertmanager.key``, read from the file ``covenant up`` writes when it starts."""
    from infra import processes
    from infra.generate import generate
    from infra.model import Endpoints, InfraSpec

    endpoints = Endpoints(HOST, {r: ports.region_api_base + i for i, r in enumerate(REGION_CODES)},
                          control_plane=ports.control_plane, front_door=ports.front_door)
    spec = InfraSpec(endpoints, rule_files(), SCRAPE, alertmanager=f"{HOST}:{ports.alertmanager}",
                     credentials_file=str(workdir / "data" / "alertmanager.key"))
    files = generate(spec, workdir / "monitoring")
    am = await processes.start_alertmanager(files.alertmanager, workdir / "alertmanager", HOST,
                                            ports.alertmanager)
    try:
        prom = await processes.start_prometheus(files.prometheus, workdir / "prometheus", HOST,
                                                ports.prometheus)
        try:
            yield prom.url, am.url
        finally:
            await processes.stop(prom)
    finally:
        await processes.stop(am)


def _start_up(workdir: Path, ports: Ports, prometheus: str
              ) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """``covenant up`` on ``ports`` with ``prometheus_url``; its stack.json once it is up."""
    data = workdir / "data"
    config = workdir / "covenant.yaml"
    config.write_text(CONFIG.format(data=data, prometheus=prometheus, p=ports))
    with open(workdir / "up.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from covenant.cli import main; main()",
                                 "up", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, env=child_env())
    described = data / "stack.json"
    deadline = time.monotonic() + 300
    while not described.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"covenant up did not start (exit {proc.poll()}); see "
                               f"{workdir / 'up.log'}")
        time.sleep(0.2)
    return proc, json.loads(described.read_text())


def target_of(stack: Mapping[str, Any], prometheus: str, alertmanager: str,
              region: str = REGION) -> Target:
    """The target from ``covenant up``'s stack.json and the monitoring beside it."""
    key = Path(stack["admin_key_file"]).read_text().strip()
    return Target(stack["front_door"], stack["regions"][region]["origin"],
                  stack["control_plane"], prometheus, alertmanager, key, region)


async def _bench(workdir: Path) -> AlertPath:
    ports = free_ports()
    async with monitoring(workdir, ports) as (prometheus, alertmanager):
        proc, stack = await asyncio.to_thread(_start_up, workdir, ports, prometheus)
        try:
            return await drive(target_of(stack, prometheus, alertmanager))
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 60)


def run_cli(as_json: bool, data_dir: Path | None) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll otherwise
    workdir = data_dir or Path(tempfile.mkdtemp(prefix="covenant-alert-path-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = asyncio.run(_bench(workdir))
    figures = {**path.figures(), "scrape_interval": SCRAPE,
               "load_average_1m": round(os.getloadavg()[0], 2)}
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    if as_json:
        print(json.dumps(figures))
