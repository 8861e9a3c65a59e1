"""The loop: observe → decide (pure) → act → record, once per probe interval.

Level-triggered: every cycle recomputes the whole desired routing from what it sees; an
action that failed is simply decided again next cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from opentelemetry.trace import NoOpTracer, Tracer

from controlplane.actuators import (
    ChaosPause,
    DbFailover,
    EventPublisher,
    NoopChaosPause,
    NoopDbFailover,
    NoopRunbook,
    Router,
    Runbook,
)
from controlplane.dbfailover.observation import PairObservation
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.decide import Action, ActionKind, Decision, Inputs, ReconcilerState, decide
from controlplane.desired import DesiredState
from controlplane.health import Health
from controlplane.leader import Lease
from controlplane.metrics import ControlPlaneMetrics
from controlplane.observation import RegionObservation
from controlplane.observe import Observer
from controlplane.overrides import RouteOverrides
from controlplane.signals import PlotSource, SignalSource, StaticSignals
from controlplane.store import StateStore
from kernel.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


@dataclass
class Hooks:
    runbook: Runbook = field(default_factory=NoopRunbook)
    chaos: ChaosPause = field(default_factory=NoopChaosPause)
    db: DbFailover = field(default_factory=NoopDbFailover)


class Reconciler:
    def __init__(self, desired: DesiredState, observer: Observer, router: Router,
                 store: StateStore, lease: Lease, metrics: ControlPlaneMetrics,
                 publisher: EventPublisher | None = None, hooks: Hooks | None = None,
                 signals: SignalSource | None = None,
                 clock: Clock = SYSTEM_CLOCK,
                 on_decision: Callable[[Decision], None] | None = None,
                 plots: PlotSource | None = None,
                 overrides: RouteOverrides | None = None,
                 db: DbSupervisor | None = None, tracer: Tracer | None = None) -> None:
        self.desired = desired
        self.state = ReconcilerState()
        self.last: Decision | None = None
        self.passes = 0
        self._observer, self._router, self._store = observer, router, store
        self._lease, self._metrics, self._publisher = lease, metrics, publisher
        self._hooks = hooks or Hooks()
        self._signals = signals or StaticSignals()
        self._clock = clock
        self._on_decision = on_decision
        self._plots = plots
        self.overrides = overrides  # regions drained by hand or by a runbook
        self.observations: Mapping[str, RegionObservation] = {}  # the latest cycle's
        self.db = db  # the regions' database pairs (controlplane.dbfailover)
        self._tracer = tracer or NoOpTracer()  # a span per pass and per phase

    async def run_once(self) -> Decision:
        """One pass. Traced as a ``reconcile`` span with ``observe``, ``decide``, ``act`` and
        ``record`` children (and ``runbooks`` when verdicts are handed to the runbook hook):
        one trace per pass, exported when tracing is on (docs/tracing.md)."""
        started = time.perf_counter()
        with self._tracer.start_as_current_span(
                "reconcile", attributes={"covenant.pass": self.passes}) as span:
            with self._tracer.start_as_current_span("observe"):
                observations, pairs, leading = await self._observe()
            now = self._clock.time()
            with self._tracer.start_as_current_span("decide"):
                decision = await self._decide(observations, pairs, leading, now)
            with self._tracer.start_as_current_span(
                    "act", attributes={"covenant.actions": len(decision.actions)}):
                if await self._act(now, decision.actions):
                    self.state = replace(self.state, routes=None)  # decided again next cycle
            with self._tracer.start_as_current_span("record"):
                await self._record(now, decision, leading)
            if leading and decision.triggers:
                with self._tracer.start_as_current_span("runbooks"):
                    await self._trigger_runbooks(decision)
            span.set_attributes({"covenant.leader": leading,
                                 "covenant.verdicts_changed": sum(
                                     v.changed for v in decision.verdicts)})
        self._metrics.observe_cycle(time.perf_counter() - started, decision.verdicts,
                                    decision.actions, leading)
        self.last, self.passes = decision, self.passes + 1
        _log(decision)
        if self._on_decision:
            self._on_decision(decision)
        return decision

    async def _observe(self) -> tuple[Mapping[str, RegionObservation],
                                      dict[str, PairObservation], bool]:
        """Every region's snapshot and every database pair's, and whether we lead."""
        healthy = frozenset(name for name, h in self.state.regions.items()
                            if h.state is Health.HEALTHY)
        observations, pairs = await asyncio.gather(self._observer.observe(healthy),
                                                   self._observe_pairs())
        self.observations = observations
        leading = await asyncio.to_thread(self._lease.try_acquire)
        return observations, pairs, leading

    async def _decide(self, observations: Mapping[str, RegionObservation],
                      pairs: dict[str, PairObservation], leading: bool, now: float
                      ) -> Decision:
        if leading and self.state.leader_epoch != self._lease.epoch:
            # A new leader starts from the incidents its predecessor left open.
            opened = await asyncio.to_thread(self._store.open_incidents)
            self.state = replace(self.state, incidents={**opened, **self.state.incidents})
            if self.overrides is not None:
                await asyncio.to_thread(self.overrides.reload)
        signals = self._signals.signals(observations, now)
        decision = decide(self.desired, observations, self.state, now, Inputs(
            leader=leading, leader_epoch=self._lease.epoch, slo_breaches=signals.slo_breaches,
            anomalies=signals.anomalies, chaos_freeze=signals.chaos_freeze,
            drained=self.overrides.drained() if self.overrides is not None else {}))
        if self.db is not None:  # the pairs' own pure decision (controlplane.dbfailover.decide)
            decision = replace(decision, actions=decision.actions + self.db.decide(
                pairs, now, leading), triggers=decision.triggers + self.db.triggers())
        self.state = decision.state
        return decision

    async def _record(self, now: float, decision: Decision, leading: bool) -> None:
        routes = self.state.routes
        routed = {n: (routes.target(n) or n) if routes else n for n in self.desired.region_names()}
        await asyncio.to_thread(self._store.record_cycle, now, self.observations.values(),
                                decision.verdicts, routed)
        if decision.actions:
            await asyncio.to_thread(self._store.record_actions, now, decision.actions,
                                    self._lease.holder)
            await self._attach_plots(now, decision.actions)
        if leading and self.passes % self.desired.record.prune_every == 0:
            await asyncio.to_thread(self._store.prune, now - self.desired.record.retention_s)

    async def _trigger_runbooks(self, decision: Decision) -> None:
        """Hand each standing verdict to the runbook hook (after the cycle is recorded, so
        the incident a run links to exists)."""
        for trigger in decision.triggers:
            try:
                await self._hooks.runbook.trigger(trigger)
            except Exception as exc:  # noqa: BLE001 - a runbook hook must not stop the pass
                log.warning("runbook hook failed for %s in %s: %s", trigger.verdict,
                            trigger.region, exc)

    async def _attach_plots(self, now: float, actions: Sequence[Action]) -> None:
        """An incident opened or updated during a sustained anomaly carries the plot of the
        anomalous series: rendered and stored in a worker thread, never in ``decide()``."""
        if self._plots is None:
            return
        for action in actions:
            if action.kind not in _PLOTTED or not action.region or not action.incident_id:
                continue
            job = self._plots.plot_job(action.region)
            if job is None:
                continue
            try:
                await asyncio.to_thread(_render_and_save, self._store, action.incident_id,
                                        now, job)
            except Exception as exc:  # noqa: BLE001 - a missing plot must not stop the pass
                log.warning("could not attach a plot to %s: %s", action.incident_id, exc)

    async def _act(self, now: float, actions: Sequence[Action]) -> bool:
        """Carry out each action; True when applying routes failed."""
        failed_routes = False
        for seq, action in enumerate(actions):
            try:
                await self._dispatch(action)
            except Exception as exc:  # noqa: BLE001 - one failed actuator must not stop the rest
                log.warning("action %s failed: %s", action.kind.value, exc)
                failed_routes = failed_routes or action.kind is ActionKind.SET_ROUTES
            if self._publisher is not None:
                try:
                    await self._publisher.publish(now, action, seq)
                except Exception as exc:  # noqa: BLE001 - the bus being down is not fatal here
                    log.warning("could not publish %s: %s", action.kind.value, exc)
        return failed_routes

    async def _dispatch(self, action: Action) -> None:
        kind = action.kind
        if kind is ActionKind.SET_ROUTES and action.routes is not None:
            await self._router.apply(action.routes)
        elif kind is ActionKind.RUN_RUNBOOK and action.runbook and action.region:
            await self._hooks.runbook.run(action.runbook, action.region, action.reason)
        elif kind is ActionKind.PAUSE_CHAOS:
            await self._hooks.chaos.pause(action.reason)
        elif kind is ActionKind.RESUME_CHAOS:
            await self._hooks.chaos.resume(action.reason)
        elif kind is ActionKind.FAILOVER_DB and action.region:
            await self._hooks.db.failover(action.region, action.reason, action.incident_id)
        elif kind in (ActionKind.DB_SYNC_OFF, ActionKind.DB_SYNC_ON) and action.region \
                and self.db is not None:
            await self.db.set_synchronous(action.region, kind is ActionKind.DB_SYNC_ON,
                                          action.reason)
        # Incident actions are carried out by recording them (StateStore.record_actions).

    def suspect(self) -> bool:
        """A healthy region just had a bad cycle: confirm (or clear) it soon."""
        return any(h.state is Health.HEALTHY and (h.bad_streak or h.missing_streak)
                   for h in self.state.regions.values()) or \
            (self.db is not None and self.db.suspect())

    async def _observe_pairs(self) -> dict[str, PairObservation]:
        """The database pairs, probed at the same time as the regions' APIs."""
        return await self.db.observe(self._clock.time()) if self.db is not None else {}

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile every probe interval until ``stop`` is set."""
        while not stop.is_set():
            started = time.monotonic()
            interval = self.desired.probe.interval_s
            try:
                await self.run_once()
                if self.suspect():
                    interval = self.desired.probe.confirm_interval_s
            except Exception:
                log.exception("reconcile pass failed; retrying next interval")
            left = interval - (time.monotonic() - started)
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=left)


_PLOTTED = (ActionKind.OPEN_INCIDENT, ActionKind.UPDATE_INCIDENT)


def _render_and_save(store: StateStore, incident_id: str, at: float,
                     job: Callable[[], bytes]) -> None:
    store.save_plot(incident_id, at, job())


def _log(decision: Decision) -> None:
    for verdict in decision.verdicts:
        if verdict.changed:
            log.info("verdict: %s", verdict.line)
    for action in decision.actions:
        log.info("action %s: %s", action.kind.value, action.reason)
