"""The runbook engine wired into ``covenant up``: the journal on the state store, the
executor and its runners (checks and actuator adapters over this process), the dispatcher,
the reconciler's runbook hook, the periodic sweep, the API keys and the routers of the runs
API, the Alertmanager webhook and key management.

Built after the control plane (it reads the reconciler, the router and the overrides) and
before its API starts. What this stack cannot do is worked out once here
(:func:`runbooks.capability.blocked`): such runbooks are refused for real and run only as a
dry run, and ``/v1/runbooks`` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from chaos.server import ToxiproxyServer
from controlplane.alert_webhook import webhook_route, webhook_router
from controlplane.api import ApiExtras
from controlplane.assembly import ControlPlane
from controlplane.auth import Guard
from controlplane.dbfailover.runbook import db_probes
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.incident_desk import IncidentDesk
from controlplane.keys import KeyStore
from controlplane.keys_api import keys_router
from controlplane.runbook_metrics import RunbookMetrics
from controlplane.runs_api import RunbookDesk, runs_router
from controlplane.triggers import RunbookTrigger
from covenant import runbook_actuators, runbook_probes
from covenant.chaos_pause import ToxiproxyChaosPause
from covenant.runbook_probes import StackView
from kernel.bus import EventBus
from kernel.locks import RegionLock
from kernel.settings import Settings
from kernel.state.locks import SqlRegionLock
from runbooks.capability import Wired, blocked
from runbooks.checks import HttpCheckRunner, ProbeTable, PromqlCheckRunner, SqlCheckRunner
from runbooks.dispatch import Dispatcher
from runbooks.escalation import BusEscalator, FanoutEscalator, HttpPagerDuty, IncidentEscalator
from runbooks.executor import Executor
from runbooks.journal_sql import SqlJournal
from runbooks.model import ApprovalStep, ManualStep, Runbook
from runbooks.ports import CheckRunner, Escalator, Runners
from runbooks.probes import VERDICTS
from runbooks.spec import load_library
from runbooks.validate import validate
from slo.store import SloStore

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 15.0
INCIDENT_ESCALATED = "covenant.controlplane.incident.escalated"
UNWIRED_CHECKS: Mapping[str, str] = {
    "promql": "no Prometheus is configured (settings.prometheus_url)",
}


class AsyncDesk:
    """The incident desk as the escalators' ``IncidentDesk`` Protocol (async)."""

    def __init__(self, desk: IncidentDesk) -> None:
        self._desk = desk

    async def raise_severity(self, region: str, severity: str, reason: str) -> None:
        await asyncio.to_thread(self._desk.raise_severity, region, severity, reason)


@dataclass
class StoreIncidents:
    """The dispatcher's incident view: the region's open incident in the state store, and
    the runbook working on it (its active run's)."""

    desk: IncidentDesk
    journal: SqlJournal

    async def incident(self, region: str) -> tuple[str, str | None] | None:
        """(the open incident, the runbook of its active run or None: once its runbook's
        run has ended, the next runbook admitted works on it)."""
        found = await asyncio.to_thread(self.desk.open_incident, region)
        if found is None:
            return None
        for run_id in (await self.journal.incident_runs([found[0]])).get(found[0], []):
            run = await self.journal.run(run_id)
            if run.active:
                return found[0], run.runbook
        return found[0], None


@dataclass
class VerdictHook:
    """The reconciler's ``Runbook`` hook: standing verdicts go to the dispatcher in the
    background (the loop never waits for a journal), one at a time per occurrence."""

    dispatcher: Dispatcher | None = None
    pending: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    told: dict[str, str] = field(default_factory=dict)  # key -> the last outcome logged

    async def run(self, name: str, region: str, reason: str) -> None:
        if self.dispatcher is not None:
            outcome = await self.dispatcher.request(name, region, "", f"reconciler:{reason}")
            log.info("runbook %s in %s: %s", name, region, outcome.admission.reason)

    async def trigger(self, trigger: RunbookTrigger) -> None:
        if self.dispatcher is None or trigger.key in self.pending:
            return
        task = asyncio.create_task(self._dispatch(self.dispatcher, trigger))
        self.pending[trigger.key] = task
        task.add_done_callback(lambda _: self.pending.pop(trigger.key, None))

    async def _dispatch(self, dispatcher: Dispatcher, trigger: RunbookTrigger) -> None:
        try:
            outcomes = await dispatcher.on_verdict(trigger.verdict, trigger.region,
                                                   trigger.since)
        except Exception as exc:  # noqa: BLE001 - the next cycle hands it over again
            log.warning("verdict %s in %s: %s", trigger.verdict, trigger.region, exc)
            return
        if len(self.told) > 1000:  # one entry per occurrence: forget the old ones
            self.told.clear()
        for o in outcomes:
            key = f"{trigger.key}:{o.runbook}"
            if self.told.get(key) != o.admission.decision:  # each change once, not per cycle
                self.told[key] = o.admission.decision
                log.info("verdict %s in %s -> %s %s: %s", trigger.verdict, trigger.region,
                         o.runbook, o.admission.decision, o.admission.reason)


@dataclass
class RunbookWiring:
    desk: RunbookDesk
    journal: SqlJournal
    keys: KeyStore
    lock: RegionLock  # shared with game days and DB failovers
    extras: ApiExtras
    view: StackView
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def executor(self) -> Executor:
        return self.desk.executor

    async def sweep_loop(self, stop: asyncio.Event, every: float = SWEEP_EVERY_S) -> None:
        """Sweep at start (resuming runs a crash orphaned), then every ``every`` seconds,
        while this replica leads."""
        while not stop.is_set():
            if self.desk.leading():
                try:
                    await self.executor.sweep()
                except Exception:  # noqa: BLE001 - a sweep that failed is retried next time
                    log.exception("runbook sweep failed; retrying in %g s", every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    async def drain(self) -> None:
        """Wait for the runs being driven in this process (at stop)."""
        tasks = list(self.desk.dispatcher.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def approver_teams(runbooks: Mapping[str, Runbook]) -> list[str]:
    """Every role a gate of the library names (what the local admin key may approve)."""
    return sorted({role for rb in runbooks.values() for s in rb.steps
                   if isinstance(s, ManualStep | ApprovalStep) for role in s.approvers})


def known_alerts() -> set[str]:
    from slo.rules import alert_rules
    from slo.spec import default_spec_path, load_group

    return {r.alert for slo in load_group(default_spec_path()).slos for r in alert_rules(slo)}


def region_homes() -> dict[str, list[str]]:
    from core_api.countries import load_countries

    out: dict[str, list[str]] = {}
    for c in load_countries():
        out.setdefault(c.home_region, []).append(c.iso3)
    return out


def sql_engines(settings: Settings, regions: Sequence[str]) -> dict[str, Engine]:
    """``core-<region>``: each region's core database, for read-only SQL checks."""
    from core_api.database import database_url

    return {f"core-{r}": create_engine(database_url(settings, r)) for r in regions}


def escalators(bus: EventBus, desk: IncidentDesk, settings: Settings
               ) -> tuple[Escalator, Escalator]:
    """(for failed runs, for ``incident.escalate``): the incident, the bus and PagerDuty
    when a routing key is configured."""
    pager = settings.runbooks.pagerduty_routing_key
    paging: list[Escalator] = [HttpPagerDuty(pager, settings.runbooks.pagerduty_url)] if pager \
        else []
    failed = FanoutEscalator(IncidentEscalator(AsyncDesk(desk)), BusEscalator(bus), *paging)
    return failed, FanoutEscalator(BusEscalator(bus, INCIDENT_ESCALATED), *paging)


def build_runbooks(plane: ControlPlane, settings: Settings, bus: EventBus, hook: VerdictHook,
                   client: httpx.AsyncClient, *, toxiproxy: ToxiproxyServer | None = None,
                   origins: Mapping[str, str] | None = None,
                   db: DbSupervisor | None = None,
                   runbooks: Mapping[str, Runbook] | None = None,
                   prometheus_url: str | None = None,
                   tracer: Tracer | None = None) -> RunbookWiring:
    """Everything above, over ``plane``; ``hook`` (already the reconciler's runbook hook)
    gets its dispatcher here. PromQL checks go to ``settings.prometheus_url``, else to
    ``prometheus_url`` (the Prometheus ``covenant up --with-prometheus`` runs). Runs and
    steps are spans on ``tracer`` and counted on the control plane's registry."""
    url = settings.state.resolved_url()
    books = dict(runbooks) if runbooks is not None else load_library()
    alerts = known_alerts()
    for rb in books.values():
        validate(rb, alerts, VERDICTS)  # validate first: a broken library stops the start
    journal, desk = SqlJournal(url), IncidentDesk(url)
    slo = SloStore(url)
    view = StackView(plane.reconciler, plane.router, desk,
                     ToxiproxyChaosPause(toxiproxy) if toxiproxy is not None else None,
                     slo, settings.cache, settings.bus)
    failed, paging = escalators(bus, desk, settings)
    probes = runbook_probes.build_probes(view)
    if db is not None:  # db.role, db.replication_lag_s over the pairs' last observation
        probes |= db_probes(db)
    engines = sql_engines(settings, plane.desired.region_names())
    checks: dict[str, CheckRunner] = {"probe": ProbeTable(probes),
                                      "http": HttpCheckRunner(client),
                                      "sql": SqlCheckRunner(engines)}
    promql = settings.prometheus.url or prometheus_url
    if promql:
        checks["promql"] = PromqlCheckRunner(promql, client)
    acts = runbook_actuators.actuators(view, paging, db, origins or {}, region_homes(), client)
    wired = Wired(acts, checks, probes, {**runbook_actuators.UNWIRED, **runbook_probes.UNWIRED,
                                         **UNWIRED_CHECKS})
    refused = blocked(books, wired)
    for rb_id, problems in sorted(refused.items()):
        log.info("runbook %s runs only as a dry run here: %s", rb_id, problems[0])
    # On the state store, so another process (`covenant runbook run`, `covenant db
    # switchover`, a second replica, the game-day scheduler) sees and respects it.
    lock = SqlRegionLock(url)
    metrics = RunbookMetrics(plane.registry, books, plane.desired.region_names())
    executor = Executor(books, journal, Runners(checks, acts), failed, lock=lock,
                        refuse=refused, observer=metrics, tracer=tracer)
    dispatcher = Dispatcher(books, executor, journal, lock, StoreIncidents(desk, journal))
    hook.dispatcher = dispatcher
    keys = KeyStore(url)
    guard = Guard(keys)
    runs = RunbookDesk(books, journal, executor, dispatcher, Runners(checks, acts),
                       leading=lambda: plane.reconciler.state.leader_epoch is not None)
    # The webhook is served by its hot route; its FastAPI route only lists it in the schema.
    extras = ApiExtras(guard, (webhook_router(runs, metrics.delivered),
                               runs_router(runs, guard),
                               keys_router(keys)), journal.incident_runs,
                       hot=(webhook_route(runs, guard, metrics.delivered),))
    plane.extras = extras
    closers: list[Callable[[], None]] = [journal.close, desk.close, slo.close, keys.close,
                                         lock.close]
    closers += [e.dispose for e in engines.values()]
    return RunbookWiring(runs, journal, keys, lock, extras, view, closers)


def components_line(wiring: RunbookWiring, data_dir: object) -> tuple[str, str, str]:
    """(name, address, detail) for ``covenant up``'s table."""
    books = wiring.desk.runbooks
    runnable = sum(rb_id not in wiring.executor.refused for rb_id in books)
    return ("runbooks", f"sweep every {SWEEP_EVERY_S:g} s",
            f"{len(books)} runbooks, {runnable} runnable here (the rest dry-run only: "
            f"GET /v1/runbooks says why); keys {data_dir}/admin.key, "
            f"{data_dir}/alertmanager.key")
