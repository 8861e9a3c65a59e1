"""``covenant up``: the whole embedded stack on one machine.

Six region APIs (one process each, ``covenant api``: migrate + seed, then serve), each
behind its own proxy ``<region>_api`` in the embedded Toxiproxy server, the front door, the
control-plane API and the reconciler, all but the region APIs in this process's loop.
A port of 0 means "pick a free one" (tests); the defaults are the documented ports.
"""

from __future__ import annotations

import asyncio
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

from controlplane.actuators import Router
from controlplane.api import ProcessPublic
from controlplane.assembly import ControlPlane, build_control_plane
from controlplane.decide import Decision
from controlplane.desired import DesiredState, StackPorts
from controlplane.errors import ControlPlaneError
from controlplane.frontdoor_router import FrontDoorRouter, FrontDoorSli
from controlplane.route53 import route53_router
from controlplane.servers import RunningServer, start_server
from controlplane.signals import MinimumData, incident_windows
from covenant.children import Child, ChildSpec, Supervisor
from covenant.frontdoor_process import KEY, front_door_config, front_door_spec, wait_ready
from covenant.ports import Claim, busy, explain
from covenant.wiring import extra_feed, signals_for
from kernel.ready import poll_ready
from kernel.settings import Settings, state_store_url
from kernel.tracing import build_tracer_provider, traces_endpoint

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

    from chaos.server import ToxiproxyServer
    from controlplane.anomalies import AnomalyWatch
    from controlplane.signals import PrometheusFeed
    from covenant.dbpairs import Pairs
    from covenant.monitoring import Monitoring, MonitoringOptions
    from covenant.runbook_wiring import RunbookWiring, VerdictHook
    from kernel.bus import EventBus
    from slo.incidents import IncidentWindow
    from slo.store import SloStore

log = logging.getLogger(__name__)

CONTROL_PLANE_SERVICE = "covenant-controlplane"  # service.name of this process's spans
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
    child: Child  # supervised: restarted when it exits, so its process may change
    log_path: Path

    @property
    def process(self) -> asyncio.subprocess.Process:
        return self.child.process


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


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
    pairs: Pairs | None = None  # the regions' database pairs (covenant.dbpairs)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _loop_task: asyncio.Task[None] | None = None
    _refit_task: asyncio.Task[None] | None = None
    _feed_task: asyncio.Task[None] | None = None
    _prometheus: PrometheusFeed | None = None
    anomaly: AnomalyWatch | None = None
    _slo_store: SloStore | None = None
    replayed: int = 0  # anomaly points replayed from the state store at start
    # --with-prometheus: Prometheus and Alertmanager beside the stack (None: not started)
    monitoring_options: MonitoringOptions | None = None
    monitoring: Monitoring | None = None
    # The children (region APIs, front door): each exit reported through on_event, restarted.
    on_event: Callable[[str], None] | None = None
    supervisor: Supervisor = field(init=False)
    front_door_admin_url: str = ""
    _front_router: FrontDoorRouter | None = None
    _sli_task: asyncio.Task[None] | None = None
    runbooks: RunbookWiring | None = None  # the runbook engine (covenant.runbook_wiring)
    _sweep_task: asyncio.Task[None] | None = None
    _rb_client: httpx.AsyncClient | None = None
    _tracing: TracerProvider | None = None  # the control plane's spans, when tracing is on

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.on_event)

    async def start(self) -> None:
        ports = self.desired.stack
        problem = explain(busy(ports.host, self._claims(ports)))
        if problem:  # before anything starts: e.g. an orphan of a killed stack holds a port
            raise ControlPlaneError(problem)
        try:
            await self._start_db_pairs(ports)  # first: the region APIs need their URLs
            await self._start_regions(ports)
            proxies = await self._start_proxies(ports)
            await self._start_control_plane(ports, proxies)
            if self.monitoring_options is not None:
                await self._start_monitoring(ports.host, self.monitoring_options)
        except BaseException:
            await self.stop()
            raise

    def _claims(self, ports: StackPorts) -> list[Claim]:
        """Every fixed port this stack will listen on (0: any free one, never busy)."""
        claims = [Claim(ports.control_plane, "control-plane API"),
                  Claim(ports.front_door, "front door"), Claim(ports.toxiproxy, "Toxiproxy API")]
        for i, region in enumerate(self.desired.region_names()):
            if ports.region_api_base:
                claims.append(Claim(ports.region_api_base + i, f"region API {region}"))
            if ports.proxy_base:
                claims.append(Claim(ports.proxy_base + i, f"proxy {region}_api"))
        return claims

    async def _start_regions(self, ports: StackPorts) -> None:
        env = settings_env(self.settings)
        logs = Path(env["COVENANT_DATA_DIR"]) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        prepare = await self._prepare_shared_database()
        for i, region in enumerate(self.desired.region_names()):
            port = ports.region_api_base + i if ports.region_api_base else free_port(ports.host)
            log_path = logs / f"{region}.log"
            flag, region_env = self._region_db(region, prepare, env)
            argv = (sys.executable, "-m", "core_api", "api", "--region", region,
                    "--port", str(port), "--host", ports.host, flag)
            child = await self.supervisor.start(
                ChildSpec(region, f"region API {region}", argv, region_env, log_path))
            self.regions.append(RegionProcess(region, port, child, log_path))
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
        problem = await poll_ready(client, f"http://{host}:{r.port}/ready", r.process,
                                   READY_TIMEOUT_S, 0.2)
        if problem:
            raise ControlPlaneError(f"region API {r.region} {problem}; see {r.log_path}")

    async def _start_db_pairs(self, ports: StackPorts) -> None:
        """The regions' PostgreSQL pairs (made if missing), their endpoints in the fault
        proxy; or a line saying the stack has no failover."""
        from covenant.dbpairs import start_pairs

        server = await self._toxiproxy(ports) if self.desired.db.pairs else None
        self.pairs = await start_pairs(self.desired.db, Path(self.settings.data_dir),
                                       server.url if server else "", ports.host)
        self.components += [Component(*row) for row in self.pairs.rows]

    def _region_db(self, region: str, prepare: str,
                   env: dict[str, str]) -> tuple[str, dict[str, str]]:
        """A region with a pair migrates and seeds its own database, through its endpoint."""
        url = self.pairs.database_urls.get(region) if self.pairs else None
        if url is None:
            return prepare, env
        return "--prepare", {**env, "COVENANT_DATABASE_URL": url}

    async def _toxiproxy(self, ports: StackPorts) -> ToxiproxyServer:
        if self.toxiproxy is None:
            from chaos.server import ToxiproxyServer

            server = ToxiproxyServer(ports.host, ports.toxiproxy)
            await server.start()
            self.toxiproxy = server
            self.components.append(Component("Toxiproxy API", server.url, "embedded"))
        return self.toxiproxy

    async def _start_proxies(self, ports: StackPorts) -> dict[str, str]:
        server = await self._toxiproxy(ports)
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
        front_port = ports.front_door or free_port(ports.host)
        self.front_door_admin_url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
        self._front_router = FrontDoorRouter(self.front_door_admin_url)
        extra: list[Router] = [self._front_router]
        if self.desired.route53:
            extra.append(route53_router(self.desired.route53))
        from covenant.runbook_wiring import VerdictHook

        hook = VerdictHook()  # the reconciler's runbook hook, given its dispatcher below
        from covenant.dbrunbook import db_hooks

        hooks, db_hook = db_hooks(hook, self.pairs.supervisor if self.pairs else None)
        self.plane = build_control_plane(self.desired, self.settings, bus=bus,
                                         on_decision=self.on_decision, signals=signals,
                                         on_scrape=on_scrape, extra_routers=extra,
                                         plots=self.anomaly.source, registry=registry,
                                         db=self.pairs.supervisor if self.pairs else None,
                                         hooks=hooks,
                                         tracer=self._tracer())
        await self._start_runbooks(hook, bus, origins)
        if db_hook is not None and self.runbooks is not None:  # the failover as a runbook
            db_hook.attach(self.runbooks.desk.dispatcher, self.runbooks.lock)
        # Warm the anomaly watch from the recorded cycles before the first live one (in a
        # worker: ~0.7 s for 2,000 cycles of six regions, and the region APIs share this loop;
        # nothing else touches the watch until the first pass below).
        names = set(self.desired.region_names())  # a region since removed stays history
        history = [o for o in await asyncio.to_thread(self.plane.store.history, REPLAY_CYCLES)
                   if o.region in names]
        self.replayed = await asyncio.to_thread(self.anomaly.source.replay, history)
        self.plane.processes = self._region_processes
        # The API first (a starting front door pulls /v1/routes from it), then the front
        # door, then the first pass, which pushes the routes to it.
        api = await start_server(self.plane.api(), ports.host, ports.control_plane)
        self.servers.append(api)
        self.api_url = api.url
        await self._start_front_door(endpoints, front_port, api.url)
        await self.plane.reconciler.run_once()
        if on_scrape is not None and (feed := extra_feed(on_scrape)) is not None:
            sli = FrontDoorSli(f"{self.front_door_url}/_frontdoor/metrics", feed, time.time)
            self._sli_task = asyncio.create_task(sli.run(self._stop))
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
        if self.runbooks is not None:  # at once: resumes the runs a crash left orphaned
            self._sweep_task = asyncio.create_task(self.runbooks.sweep_loop(self._stop))

    async def _start_runbooks(self, hook: VerdictHook, bus: EventBus,
                              origins: dict[str, str]) -> None:
        """The runbook engine over the control plane, and this machine's keys."""
        from covenant.local_keys import ensure_local_keys
        from covenant.monitoring import started_prometheus_url, with_known_port
        from covenant.runbook_wiring import approver_teams, build_runbooks, components_line

        assert self.plane is not None
        self._rb_client = httpx.AsyncClient(timeout=10)
        host = self.desired.stack.host
        if self.monitoring_options is not None:  # its port fixed now, for the PromQL checks
            self.monitoring_options = with_known_port(self.monitoring_options, host)
        self.runbooks = build_runbooks(
            self.plane, self.settings, bus, hook, self._rb_client, toxiproxy=self.toxiproxy,
            origins=origins, db=self.pairs.supervisor if self.pairs else None,
            prometheus_url=started_prometheus_url(self.monitoring_options, host),
            tracer=self._tracing.get_tracer("runbooks") if self._tracing else None)
        data_dir = Path(self.settings.data_dir)
        await asyncio.to_thread(ensure_local_keys, self.runbooks.keys, data_dir,
                                approver_teams(self.runbooks.desk.runbooks))
        self.components.append(Component(*components_line(self.runbooks, data_dir)))

    async def _start_front_door(self, endpoints: dict[str, str], port: int,
                                control_plane: str) -> None:
        """The front door process (``covenant.frontdoor_process``), supervised."""
        config = front_door_config(self.desired, endpoints, port,
                                   _port(self.front_door_admin_url), control_plane,
                                   traces_endpoint(self.settings.tracing.otlp_endpoint) or "")
        env = settings_env(self.settings)
        spec = front_door_spec(config, Path(env["COVENANT_DATA_DIR"]), env)
        child = await self.supervisor.start(spec)
        await wait_ready(self.front_door_admin_url, child.process, spec.log_path)
        self.front_door_url = f"http://{config.host}:{port}"
        self.components.append(Component(
            "front door", self.front_door_url, f"pid {child.process.pid}, routes by the data's "
            f"home region; admin {self.front_door_admin_url}; log {spec.log_path}"))

    def _tracer(self) -> Tracer | None:
        """The control plane's tracer (reconcile passes), when spans have somewhere to go;
        the region APIs and the front door read the same setting (docs/tracing.md)."""
        endpoint = traces_endpoint(self.settings.tracing.otlp_endpoint)
        if endpoint is None:
            return None
        self._tracing = build_tracer_provider(CONTROL_PLANE_SERVICE, endpoint=endpoint)
        return self._tracing.get_tracer("controlplane")

    def _region_processes(self) -> dict[str, ProcessPublic]:
        """For ``/v1/regions``: each region API's process as supervised now."""
        return {r.region: ProcessPublic(pid=r.process.pid, restarts=r.child.restarts,
                                        last_exit=r.child.last_exit, running=r.child.running)
                for r in self.regions}

    async def _start_monitoring(self, host: str, options: MonitoringOptions) -> None:
        """Prometheus (scraping the ports the stack got) and Alertmanager."""
        from covenant.monitoring import start_monitoring
        from infra.model import Endpoints

        endpoints = Endpoints(host, {r.region: r.port for r in self.regions},
                              control_plane=_port(self.api_url),
                              front_door=_port(self.front_door_url))
        from covenant.local_keys import ALERTMANAGER_FILE, read_key

        # Alertmanager posts to the runbook webhook with the stack's alertmanager key.
        token = read_key(Path(self.settings.data_dir) / ALERTMANAGER_FILE)
        self.monitoring = await start_monitoring(endpoints, Path(self.settings.data_dir),
                                                 options, token=token)
        self.components += [Component(*row) for row in self.monitoring.components()]

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
            "front_door_admin": self.front_door_admin_url,
            "front_door_pid": (self.supervisor.children[KEY].process.pid
                               if KEY in self.supervisor.children else None),
            "db_pairs": {region: {"database_url": self.pairs.database_urls[region],
                                  "dir": str(path)}
                         for region, path in self.pairs.dirs.items()} if self.pairs else {},
            "prometheus": self.monitoring.prometheus.url if self.monitoring else "",
            "alertmanager": self.monitoring.alertmanager.url if self.monitoring else "",
            # The control plane's local admin key (incidents, actions, runs need a key).
            "admin_key_file": str((Path(self.settings.data_dir) / "admin.key").resolve()),
        }

    async def stop(self) -> None:
        """Stop in reverse order; safe to call twice and after a failed start."""
        self._stop.set()
        if self.monitoring is not None:
            await self.monitoring.stop()
            self.monitoring = None
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._feed_task is not None:
            await self._feed_task
            self._feed_task = None
        if self._sli_task is not None:
            await self._sli_task
            self._sli_task = None
        if self._refit_task is not None:
            await self._refit_task  # a fit in progress finishes (and is saved) first
            self._refit_task = None
        if self._sweep_task is not None:
            await self._sweep_task
            self._sweep_task = None
        for server in reversed(self.servers):
            await server.stop()
        self.servers.clear()
        await self._stop_runbooks()
        if self._front_router is not None:
            await self._front_router.aclose()
            self._front_router = None
        if self.plane is not None:
            await self.plane.close()
            self.plane = None
        if self._slo_store is not None:
            self._slo_store.close()
            self._slo_store = None
        if self._bus is not None:
            await self._bus.close()
            self._bus = None
        if self._tracing is not None:  # the spans still batched are sent first
            await asyncio.to_thread(self._tracing.shutdown)
            self._tracing = None
        if self.toxiproxy is not None:
            await self.toxiproxy.stop()
            self.toxiproxy = None
        await self._stop_regions()
        if self.pairs is not None:
            from covenant.dbpairs import stop_pairs

            await stop_pairs(self.pairs)
            self.pairs = None

    async def _stop_runbooks(self) -> None:
        """Runs in progress stop where they are (their journal says where: the next start's
        sweep resumes them)."""
        if self.runbooks is not None:
            await self.runbooks.drain()
            self.runbooks.close()
            self.runbooks = None
        if self._rb_client is not None:
            await self._rb_client.aclose()
            self._rb_client = None

    async def _stop_regions(self) -> None:
        """The region APIs and the front door: SIGTERM, then SIGKILL after 10 s."""
        await self.supervisor.stop()
        self.regions.clear()
