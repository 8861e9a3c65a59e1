"""From a trigger (an Alertmanager alert, a reconciler verdict, a person) to a run.

The dispatcher matches runbooks, asks :func:`runbooks.admission.admit` with what the journal,
the region lock and the incident desk say, and then starts, attaches, holds or refuses. Runs
are driven in background tasks, so a slow or stuck run never delays another trigger.
Admission and creation of one (runbook, region) are serialised, so two copies of one
notification arriving together (Alertmanager retrying) never start two runs. The
Alertmanager webhook and the runs API call :meth:`Dispatcher.on_alert`,
:meth:`Dispatcher.start` and :meth:`Dispatcher.spawn`; the reconciler's hook
:meth:`Dispatcher.on_verdict`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.locks import RegionLock
from runbooks.admission import ActiveRun, Admission, Decision, RegionView, Request, admit
from runbooks.errors import RegionBusy, RunbookError
from runbooks.executor import Executor
from runbooks.journal import Journal
from runbooks.model import Runbook

log = logging.getLogger(__name__)
SETTLED_KEPT = 100_000  # ended keys remembered (~200 bytes each)


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """One alert of an Alertmanager webhook notification."""

    name: str
    labels: Mapping[str, str]
    fingerprint: str
    starts_at: str
    group_key: str = ""
    firing: bool = True

    @property
    def key(self) -> str:
        return f"alert:{self.fingerprint}@{self.starts_at}"


@dataclass(frozen=True, slots=True)
class Outcome:
    runbook: str
    admission: Admission
    run_id: int | None = None


class IncidentLookup(Protocol):
    async def incident(self, region: str) -> tuple[str, str | None] | None:
        """(incident id, the runbook it runs or None) of the region's active incident."""
        ...


@dataclass
class Dispatcher:
    runbooks: Mapping[str, Runbook]
    executor: Executor
    journal: Journal
    lock: RegionLock | None = None
    incidents: IncidentLookup | None = None
    clock: Clock = SYSTEM_CLOCK
    tasks: set[asyncio.Task[object]] = field(default_factory=set)
    _serial: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)
    _alerts: dict[str, list[Runbook]] | None = None
    # Keys whose run has ended, and the refusal they get: an ended run never runs again, so
    # every later copy (Alertmanager repeats a firing alert for hours) is answered from here
    # without a journal read. Only what the journal said is kept: a new key still goes to it.
    _settled: dict[tuple[str, str], Outcome] = field(default_factory=dict)

    async def on_alert(self, alert: AlertNotice) -> list[Outcome]:
        """A firing alert starts (or attaches to) the runs of the runbooks it triggers; a
        resolved one resolves the run its firing started (see :meth:`Executor.resolve`)."""
        if not alert.firing:
            return await self._resolved(alert)
        ids = [rb.id for rb in self._by_alert().get(alert.name, ())
               if any(t.matches(alert.name, alert.labels) for t in rb.triggers)]
        region = alert.labels.get("region", "")
        return [await self.request(i, region, alert.key, f"alertmanager:{alert.name}",
                                   dict(alert.labels)) for i in ids]

    async def on_verdict(self, verdict: str, region: str, since: float) -> list[Outcome]:
        ids = [rb.id for rb in self.runbooks.values()
               if any(t.verdict == verdict for t in rb.triggers)]
        key = f"verdict:{verdict}:{region}:{since:.0f}"
        return [await self.request(i, region, key, f"reconciler:{verdict}") for i in ids]

    async def start(self, runbook: str, region: str, inputs: Mapping[str, object],
                    actor: str) -> Outcome:
        """A person starts a run (the runs API): every input given is checked."""
        return await self.request(runbook, region, "", actor, inputs=inputs)

    async def request(self, runbook: str, region: str, key: str, actor: str,
                      labels: Mapping[str, str] | None = None,
                      inputs: Mapping[str, object] | None = None,
                      incident: str | None = None) -> Outcome:
        """Admit and start (in the background), attach, hold or refuse one run. Inputs come
        from ``labels`` named like an input (an alert) or from ``inputs`` (all of them).
        ``incident``: the incident the run works on, when the caller knows it (one that is
        not recorded yet, e.g. the reconciler's, recorded after it acts); else the region's
        open incident."""
        async with self._serial.setdefault((runbook, region), asyncio.Lock()):
            return await self._request(runbook, region, key, actor, labels, inputs, incident)

    async def _request(self, runbook: str, region: str, key: str, actor: str,
                       labels: Mapping[str, str] | None,
                       inputs: Mapping[str, object] | None,
                       explicit: str | None = None) -> Outcome:
        request = Request(runbook, region, key)
        repeat = await self._repeat(request)
        if repeat is not None:  # a copy of a notification already handled: no more to ask
            return repeat
        incident = await self._incident(region) if explicit is None else \
            await self._named_incident(explicit)
        decision = await self._decide(request, incident)
        log.info("%s for %s in %s (%s): %s", decision.decision, runbook, region, actor,
                 decision.reason)
        if decision.decision is Decision.ATTACH and decision.run_id is not None:
            await self._attach(decision.run_id, key, incident)
        if decision.decision is not Decision.ADMIT:
            return Outcome(runbook, decision, decision.run_id)
        rb = self.runbooks[runbook]
        given = dict(inputs or {k: v for k, v in (labels or {}).items()
                                if rb.input(k) is not None})
        try:
            run = await self.executor.create(runbook, {**given, "region": region}, actor, key,
                                             incident[0] if incident else None)
        except RegionBusy as exc:
            return Outcome(runbook, Admission(Decision.HOLD, str(exc)))
        except RunbookError as exc:
            return Outcome(runbook, Admission(Decision.REFUSE, str(exc)))
        self.spawn(run.id)
        return Outcome(runbook, decision, run.id)

    def _by_alert(self) -> dict[str, list[Runbook]]:
        """The runbooks each alert name may trigger (built once: every notification asks)."""
        if self._alerts is None:
            self._alerts = {}
            for rb in self.runbooks.values():
                for name in dict.fromkeys(t.alert for t in rb.triggers if t.alert):
                    self._alerts.setdefault(name, []).append(rb)
        return self._alerts

    def spawn(self, run_id: int) -> None:
        """Drive a run in a background task (after a start or an approval)."""
        task: asyncio.Task[object] = asyncio.create_task(self.executor.drive(run_id))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    async def _repeat(self, request: Request) -> Outcome | None:
        """The decision for a key already handled (a repeat or a retry of one notification,
        a verdict standing another cycle): attach to its run while active, else refuse. Only
        that run is read, so duplicates cost two lookups (none once it has ended); None for a
        new key."""
        settled = self._settled.get((request.runbook, request.key))
        if settled is not None:
            return settled
        run = await self.journal.run_of_trigger(request.key) if request.key else None
        if run is None:
            return None
        active = [ActiveRun(run.id, run.runbook, run.region, frozenset({request.key}))
                  ] if run.active else []
        decision = admit(request, self.runbooks, active, RegionView(), run.id)
        if decision.decision is Decision.ATTACH and run.incident is None:
            incident = await self._incident(request.region)  # opened since the run started
            if incident is not None:
                await self.journal.link_incident(run.id, incident[0])
        log.debug("%s for %s in %s: %s", decision.decision, request.runbook, request.region,
                  decision.reason)
        outcome = Outcome(request.runbook, decision, decision.run_id)
        if not run.active:
            if len(self._settled) >= SETTLED_KEPT:  # bounded: the oldest go to the journal again
                del self._settled[next(iter(self._settled))]
            self._settled[(request.runbook, request.key)] = outcome
        return outcome

    async def _attach(self, run_id: int, key: str,
                      incident: tuple[str, str | None] | None) -> None:
        if key:
            await self.journal.remember_trigger(key, run_id, self.clock.time())
        if incident is not None:  # an incident opened after the run started: link it
            await self.journal.link_incident(run_id, incident[0])

    async def _resolved(self, alert: AlertNotice) -> list[Outcome]:
        run_id = await self.journal.trigger_run(alert.key)
        if run_id is None:
            return []
        run = await self.executor.resolve(run_id, f"alert {alert.name} resolved")
        reason = f"alert {alert.name} resolved; run #{run_id} is {run.status}"
        return [Outcome(run.runbook, Admission(Decision.ATTACH, reason, run_id), run_id)]

    async def _named_incident(self, incident: str) -> tuple[str, str | None]:
        """(``incident``, the runbook of its active run or None)."""
        for run_id in (await self.journal.incident_runs([incident])).get(incident, []):
            run = await self.journal.run(run_id)
            if run.active:
                return incident, run.runbook
        return incident, None

    async def _incident(self, region: str) -> tuple[str, str | None] | None:
        if self.incidents is None or not region:
            return None
        return await self.incidents.incident(region)

    async def _decide(self, request: Request,
                      incident: tuple[str, str | None] | None) -> Admission:
        # The request's key is new here (_repeat handled known ones), so the active runs'
        # own keys cannot contain it: they are not read.
        active = [ActiveRun(r.id, r.runbook, r.region)
                  for r in await self.journal.list_runs(active_only=True, limit=10_000,
                                                        region=request.region or None)]
        view = RegionView(incident=incident[0] if incident else None,
                          incident_runbook=incident[1] if incident else None)
        decision = admit(request, self.runbooks, active, view, None)
        if decision.decision is not Decision.ADMIT or self.lock is None or not request.region:
            return decision  # a lock can only turn an admission into a hold: not read
        view = replace(view, lock_holder=await self.lock.holder(request.region))
        return admit(request, self.runbooks, active, view, None)

    def _done(self, task: asyncio.Task[object]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a run's task ended with %r", task.exception())
