"""Wire one control-plane replica from desired state and settings: store, lease, observer,
routers, bus publisher, metrics, reconciler and API. The one place that builds seams."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import httpx
from fastapi import FastAPI
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from controlplane.actuators import (
    EventPublisher,
    FanoutRouter,
    LocalRouter,
    NoopDbFailover,
    Publisher,
    Router,
)
from controlplane.api import ApiExtras, HealthPublic, ProcessSource, create_api
from controlplane.dbfailover.lease import lease_problem
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.decide import Decision
from controlplane.desired import DesiredState
from controlplane.errors import ControlPlaneError
from controlplane.leader import Lease, build_lease
from controlplane.metrics import ControlPlaneMetrics
from controlplane.observe import Observer, ScrapeHook
from controlplane.overrides import RouteOverrides
from controlplane.probe_transport import ProbeTransport
from controlplane.reconciler import Hooks, Reconciler
from controlplane.signals import PlotSource, SignalSource
from controlplane.store import StateStore
from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.settings import Settings, state_store_url


@dataclass
class ControlPlane:
    desired: DesiredState
    store: StateStore
    lease: Lease
    router: LocalRouter
    registry: CollectorRegistry
    transport: httpx.AsyncBaseTransport  # the probes' network
    reconciler: Reconciler
    processes: ProcessSource | None = None  # the region processes, when this process runs them
    extras: ApiExtras = field(default_factory=ApiExtras)  # keys, runs API, alert webhook

    def api(self) -> FastAPI:
        def health() -> HealthPublic:
            leading = self.reconciler.state.leader_epoch is not None
            return HealthPublic(status="ok", leader=leading, passes=self.reconciler.passes)

        return create_api(self.store, self.registry, lambda: self.router.current, health,
                          self.desired.region_names(), self.processes,
                          guard=self.extras.guard, routers=self.extras.routers,
                          incident_runs=self.extras.incident_runs, hot=self.extras.hot)

    async def close(self) -> None:
        await self.transport.aclose()
        self.lease.release()
        self.store.close()
        if self.reconciler.overrides is not None:
            self.reconciler.overrides.close()


def build_control_plane(desired: DesiredState, settings: Settings, *,
                        bus: Publisher | None = None, holder: str | None = None,
                        extra_routers: Sequence[Router] = (), hooks: Hooks | None = None,
                        signals: SignalSource | None = None, plots: PlotSource | None = None,
                        registry: CollectorRegistry | None = None,
                        on_scrape: ScrapeHook | None = None,
                        on_decision: Callable[[Decision], None] | None = None,
                        transport: httpx.AsyncBaseTransport | None = None,
                        clock: Clock = SYSTEM_CLOCK,
                        db: DbSupervisor | None = None,
                        tracer: Tracer | None = None) -> ControlPlane:
    problem = lease_problem(settings.state_url, desired.db.pairs)
    if problem:  # before anything is opened: the lease must outlive every failover
        raise ControlPlaneError(problem)
    if db is not None and (hooks is None or isinstance(hooks.db, NoopDbFailover)):
        # The pairs' supervisor is the reconciler's DbFailover hook unless the caller gave
        # one (``covenant up``: the failover runs as the postgres-primary-down runbook).
        hooks = replace(hooks or Hooks(), db=db)
    holder = holder or f"{socket.gethostname()}:{os.getpid()}"
    url = state_store_url(settings.state_url, settings.data_dir)
    store = StateStore(url)
    lease = build_lease(settings.state_url, settings.data_dir, holder)
    registry = registry or CollectorRegistry()  # the caller's, when its gauges share it
    # One short-lived connection per probe and no pool, so probes never queue behind each other.
    transport = transport or ProbeTransport()
    local = LocalRouter()
    router: Router = FanoutRouter(local, *extra_routers) if extra_routers else local
    reconciler = Reconciler(
        desired, Observer(desired, transport, clock=clock, on_scrape=on_scrape), router, store,
        lease,
        ControlPlaneMetrics(registry),
        publisher=EventPublisher(bus, holder) if bus is not None else None,
        hooks=hooks, signals=signals, clock=clock, on_decision=on_decision, plots=plots,
        overrides=RouteOverrides(url), db=db, tracer=tracer)
    return ControlPlane(desired, store, lease, local, registry, transport, reconciler)
