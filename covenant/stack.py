"""``covenant up``: the whole embedded stack on one machine.

Six region APIs (one process each, ``covenant api``: migrate + seed, then serve), each
behind its own proxy ``<region>_api`` in the embedded Toxiproxy server, the front door, the
control-plane API and the reconciler, all but the region APIs in this process's loop.
A port of 0 means "pick a free one" (tests); the defaults are the documented ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from controlplane.assembly import ControlPlane, build_control_plane
from controlplane.decide import Decision
from controlplane.desired import DesiredState, StackPorts
from controlplane.errors import ControlPlaneError
from controlplane.frontdoor import FrontDoor
from controlplane.route53 import route53_router
from controlplane.servers import RunningServer, start_server
from controlplane.signals import MinimumData, incident_windows
from covenant.wiring import country_homes, signals_for
from kernel.settings import Settings, state_store_url

if TYPE_CHECKING:
    from chaos.server import ToxiproxyServer
    from controlplane.anomalies import AnomalyWatch
    from controlplane.signals import PrometheusFeed
    from kernel.bus import EventBus
    from slo.incidents import IncidentWindow
    from slo.store import SloStore

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 180.0  # six first-run migrations + seeds share two cores


@dataclass
class Component:
    name: str
    address: str
    detail: str


@dataclass
class RegionProcess:
    region: str
    port: int
    process: asyncio.subprocess.Process
    log_path: Path


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as ``COVENANT_*`` variables, so region processes see the same config
    (and fault injection on: see ``region_fault_injection``)."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"COVENANT_{name.upper()}"] = str(value)
    env["COVENANT_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    env["COVENANT_FAULT_INJECTION"] = str(region_fault_injection(settings)).lower()
    return env


def region_fault_injection(settings: Settings) -> bool:
    """Whether the region APIs ``covenant up`` starts mount ``/_chaos/fault`` (a region that
    answers 5xx, for the errors fault): yes, unless the settings say otherwise explicitly
    (``fault_injection: false``) or the environment is production."""
    if "fault_injection" in settings.model_fields_set:
        return settings.fault_injection
    return settings.environment != "production"


@dataclass
class Stack:
    desired: DesiredState
    settings: Settings
    on_decision: Callable[[Decision], None] | None = None
    components: list[Component] = field(default_factory=list)
    regions: list[RegionProcess] = field(default_factory=list)
    plane: ControlPlane | None = None
    toxiproxy: ToxiproxyServer | None = None
    servers: list[RunningServer] = field(default_factory=list)
    front_door_url: str = ""
    api_url: str = ""
    _bus: EventBus | None = None
    _client: httpx.AsyncClient | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _loop_task: asyncio.Task[None] | None = None
    _refit_task: asyncio.Task[None] | None = None
    _feed_task: asyncio.Task[None] | None = None
    _prometheus: PrometheusFeed | None = None
    anomaly: AnomalyWatch | None = None
    _slo_store: SloStore | None = None
    replayed: int = 0  # anomaly points replayed from the state store at start

    async def start(self) -> None:
        ports = self.desired.stack
        try:
            await self._start_regions(ports)
            proxies = await self._start_proxies(ports)
            await self._start_control_plane(ports, proxies)
        except BaseException:
            await self.stop()
            raise

    async def _start_regions(self, ports: StackPorts) -> None:
        env = settings_env(self.settings)
        logs = Path(env["COVENANT_DATA_DIR"]) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        prepare = await self._prepare_shared_database()
        for i, region in enumerate(self.desired.region_names()):
            port = ports.region_api_base + i if ports.region_api_base else free_port(ports.host)
            log_path = logs / f"{region}.log"
            with open(log_path, "ab") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "core_api", "api",
                    "--region", region, "--port", str(port), "--host", ports.host, prepare,
                    env=env, stdout=out, stderr=out, start_new_session=True)
            self.regions.append(RegionProcess(region, port, process, log_path))
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(self._wait_ready(client, r, ports.host)
                                   for r in self.regions))
        faults = ", /_chaos/fault on" if region_fault_injection(self.settings) else ""
        for r in self.regions:
            self.components.append(Component(f"region API {r.region}",
                                             f"http://{ports.host}:{r.port}",
                                             f"pid {r.process.pid}, log {r.log_path}{faults}"))

    async def _prepare_shared_database(self) -> str:
        """One database for all regions: migrate and seed it here, once, in order (six
        processes doing it at once would race on the same rows). Else each region prepares
        its own database in parallel. Returns the region API's prepare flag."""
        url = self.settings.database_url
        if not url or "{region}" in url:
            return "--prepare"
        from core_api.prepare import seed_regions, upgrade_regions

        regions = list(self.desired.region_names())
        await asyncio.to_thread(upgrade_regions, self.settings, regions[:1])
        await asyncio.to_thread(seed_regions, self.settings, regions)
        return "--no-prepare"

    async def _wait_ready(self, client: httpx.AsyncClient, r: RegionProcess, host: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if r.process.returncode is not None:
                raise ControlPlaneError(f"region API {r.region} exited with "
                                        f"{r.process.returncode}; see {r.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://{host}:{r.port}/ready")).is_success:
                    return
            await asyncio.sleep(0.2)
        raise ControlPlaneError(f"region API {r.region} not ready after {READY_TIMEOUT_S:.0f} s;"
                                f" see {r.log_path}")

    async def _start_proxies(self, ports: StackPorts) -> dict[str, str]:
        from chaos.server import ToxiproxyServer

        server = ToxiproxyServer(ports.host, ports.toxiproxy)
        await server.start()
        self.toxiproxy = server
        self.components.append(Component("Toxiproxy API", server.url, "embedded"))
        endpoints: dict[str, str] = {}
        for i, r in enumerate(self.regions):
            listen_port = ports.proxy_base + i if ports.proxy_base else 0
            proxy = await server.create_proxy(f"{r.region}_api", f"{ports.host}:{r.port}",
                                              listen=f"{ports.host}:{listen_port}")
            endpoints[r.region] = f"http://{proxy.listen}"
            self.components.append(Component(f"proxy {r.region}_api", endpoints[r.region],
                                             f"-> {ports.host}:{r.port}"))
        return endpoints

    async def _start_control_plane(self, ports: StackPorts, endpoints: dict[str, str]) -> None:
        from kernel.buses import build_bus

        origins = {r.region: f"http://{ports.host}:{r.port}" for r in self.regions}
        regions = tuple(r.model_copy(update={"endpoint": endpoints[r.name],
                                             "origin": origins[r.name]})
                        for r in self.desired.regions)
        self.desired = self.desired.model_copy(update={"regions": regions})
        bus = build_bus(self.settings.bus)
        self._bus = bus
        from prometheus_client import CollectorRegistry

        from controlplane.anomalies import REPLAY_CYCLES, build_anomaly_watch

        # Always watched (gauges, plots); decide() acts on it only when desired state says.
        registry = CollectorRegistry()
        self.anomaly = build_anomaly_watch(registry, Path(self.settings.data_dir) / "anomaly")
        if self.desired.slo.enforce:  # what `covenant slo gate` and `slo status` read
            from slo.store import SloStore

            self._slo_store = SloStore(state_store_url(self.settings.state_url,
                                                       self.settings.data_dir))
        signals, on_scrape, self._prometheus = signals_for(
            self.desired.slo.enforce, self.desired.anomaly.treat_sustained_as_bad,
            anomalies=self.anomaly.source,
            slo_recorder=self._slo_store.record if self._slo_store else None,
            prometheus_url=self.settings.prometheus.url, regions=self.desired.region_names(),
            incidents=self._open_incidents, minimums=MinimumData(
                self.desired.slo.min_events, self.desired.slo.min_elapsed_share))
        extra = [route53_router(self.desired.route53)] if self.desired.route53 else []
        self.plane = build_control_plane(self.desired, self.settings, bus=bus,
                                         on_decision=self.on_decision, signals=signals,
                                         on_scrape=on_scrape, extra_routers=extra,
                                         plots=self.anomaly.source, registry=registry)
        # Warm the anomaly watch from the recorded cycles before the first live one (in a
        # worker: ~0.7 s for 2,000 cycles of six regions, and the region APIs share this loop;
        # nothing else touches the watch until the first pass below).
        names = set(self.desired.region_names())  # a region since removed stays history
        history = [o for o in await asyncio.to_thread(self.plane.store.history, REPLAY_CYCLES)
                   if o.region in names]
        self.replayed = await asyncio.to_thread(self.anomaly.source.replay, history)
        await self.plane.reconciler.run_once()  # routes exist before the first request
        self._client = httpx.AsyncClient(timeout=10, limits=httpx.Limits(
            max_connections=200, max_keepalive_connections=50))
        door = FrontDoor(self.desired, self.plane.router, self._client, country_homes())
        front = await start_server(door.app(), ports.host, ports.front_door, proxy=True)
        api = await start_server(self.plane.api(), ports.host, ports.control_plane)
        self.servers += [front, api]
        self.front_door_url, self.api_url = front.url, api.url
        self.components.append(Component("front door", front.url, "geo-routing by country"))
        self.components.append(Component("control plane API", api.url,
                                         "/v1/regions /v1/incidents /v1/actions /metrics"))
        every = f"every {self.desired.probe.interval_s:g} s"
        self.components.append(Component("reconciler", every, f"state {self.plane.store.url}"))
        self.components.append(Component(
            "anomaly refit", "worker thread", f"models {self.settings.data_dir}/anomaly, "
            f"{self.anomaly.restored} restored, {self.replayed} recorded points replayed"))
        if self._prometheus is not None:  # SLIs from Prometheus rather than our own scrapes
            await self._prometheus.poll()
            self._feed_task = asyncio.create_task(self._prometheus.run(self._stop))
        self._loop_task = asyncio.create_task(self.plane.reconciler.run(self._stop))
        self._refit_task = asyncio.create_task(self.anomaly.refitter.run(self._stop))

    def _open_incidents(self) -> list[IncidentWindow]:
        """The reconciler's open incidents, for the error-budget policy (postmortems)."""
        if self.plane is None:
            return []
        return incident_windows(self.plane.reconciler.state.incidents.values())

    @property
    def refitting(self) -> bool:
        """Whether the anomaly refit task is running (it starts and stops with the loop)."""
        return self._refit_task is not None and not self._refit_task.done()

    def describe(self) -> dict[str, object]:
        """What runs where, as written to ``<data_dir>/stack.json`` for tools and benchmarks."""
        return {
            "pid": os.getpid(), "front_door": self.front_door_url, "control_plane": self.api_url,
            "toxiproxy": self.toxiproxy.url if self.toxiproxy else "",
            "regions": {r.name: {"origin": r.origin, "endpoint": r.endpoint}
                        for r in self.desired.regions},
            "region_pids": {r.region: r.process.pid for r in self.regions},
        }

    async def stop(self) -> None:
        """Stop in reverse order; safe to call twice and after a failed start."""
        self._stop.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._feed_task is not None:
            await self._feed_task
            self._feed_task = None
        if self._refit_task is not None:
            await self._refit_task  # a fit in progress finishes (and is saved) first
            self._refit_task = None
        for server in reversed(self.servers):
            await server.stop()
        self.servers.clear()
        if self._client is not None:
            await self._client.aclose()
        if self.plane is not None:
            await self.plane.close()
            self.plane = None
        if self._slo_store is not None:
            self._slo_store.close()
            self._slo_store = None
        if self._bus is not None:
            await self._bus.close()
            self._bus = None
        if self.toxiproxy is not None:
            await self.toxiproxy.stop()
            self.toxiproxy = None
        await self._stop_regions()

    async def _stop_regions(self) -> None:
        for r in self.regions:
            if r.process.returncode is None:
                r.process.terminate()
        for r in self.regions:
            try:
                await asyncio.wait_for(r.process.wait(), timeout=10)
            except TimeoutError:
                r.process.kill()
                await r.process.wait()
        self.regions.clear()
