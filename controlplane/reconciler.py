"""The loop: observe → decide (pure) → act → record, once per probe interval.

Level-triggered: every cycle recomputes the whole desired routing from what it sees; an
action that failed is simply decided again next cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

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
from controlplane.decide import Action, ActionKind, Decision, Inputs, ReconcilerState, decide
from controlplane.desired import DesiredState
from controlplane.health import Health
from controlplane.leader import Lease
from controlplane.metrics import ControlPlaneMetrics
from controlplane.observe import Observer
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
                 plots: PlotSource | None = None) -> None:
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

    async def run_once(self) -> Decision:
        started = time.perf_counter()
        healthy = frozenset(name for name, h in self.state.regions.items()
                            if h.state is Health.HEALTHY)
        observations = await self._observer.observe(healthy)
        leading = await asyncio.to_thread(self._lease.try_acquire)
        now = self._clock.time()
        if leading and self.state.leader_epoch != self._lease.epoch:
            # A new leader starts from the incidents its predecessor left open.
            opened = await asyncio.to_thread(self._store.open_incidents)
            self.state = replace(self.state, incidents={**opened, **self.state.incidents})
        signals = self._signals.signals(observations, now)
        decision = decide(self.desired, observations, self.state, now, Inputs(
            leader=leading, leader_epoch=self._lease.epoch, slo_breaches=signals.slo_breaches,
            anomalies=signals.anomalies, chaos_freeze=signals.chaos_freeze))
        self.state = decision.state
        failed_routes = await self._act(now, decision.actions)
        if failed_routes:
            self.state = replace(self.state, routes=None)  # decided again next cycle
        routes = self.state.routes
        routed = {n: (routes.target(n) or n) if routes else n for n in self.desired.region_names()}
        await asyncio.to_thread(self._store.record_cycle, now, observations.values(),
                                decision.verdicts, routed)
        if decision.actions:
            await asyncio.to_thread(self._store.record_actions, now, decision.actions,
                                    self._lease.holder)
            await self._attach_plots(now, decision.actions)
        if leading and self.passes % self.desired.record.prune_every == 0:
            await asyncio.to_thread(self._store.prune, now - self.desired.record.retention_s)
        self._metrics.observe_cycle(time.perf_counter() - started, decision.verdicts,
                                    decision.actions, leading)
        self.last, self.passes = decision, self.passes + 1
        _log(decision)
        if self._on_decision:
            self._on_decision(decision)
        return decision

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
            await self._hooks.db.failover(action.region, action.reason)
        # Incident actions are carried out by recording them (StateStore.record_actions).

    def suspect(self) -> bool:
        """A healthy region just had a bad cycle: confirm (or clear) it soon."""
        return any(h.state is Health.HEALTHY and (h.bad_streak or h.missing_streak)
                   for h in self.state.regions.values())

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
