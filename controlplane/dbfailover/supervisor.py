"""What the reconciler drives each pass: observe every pair at once (beside the API probes,
never slowing the pass past the probe timeout), decide (pure, ``decide_pairs``), and carry
out failovers and synchronous-mode changes through each pair's backend.

It is also the reconciler's ``DbFailover`` hook (``failover(region, reason)``: a direct
failover, where no runbook engine is wired) and what the runbook engine's ``db.failover``
actuator calls (``failover_in_run``: the ``postgres-primary-down`` run's promote step).

Every operation that changes roles takes the region lock (``kernel.locks``) that runbook
runs and game days take too, as ``db:<operation>``, and is refused, naming the holder, while
someone else holds it. A failover carried out as a run's step runs under the run's own
lock (it is not taken again: that would shorten the run's hold, then release it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Protocol, runtime_checkable

from controlplane.dbfailover.decide import PairHealth, PairsDecision, decide_pairs, withdrawn
from controlplane.dbfailover.errors import DbFailoverError, RegionHeld
from controlplane.dbfailover.observation import NodeProbe, PairObservation
from controlplane.dbspec import FailoverPolicy
from controlplane.decide import Action, ActionKind
from controlplane.triggers import RunbookTrigger
from kernel.locks import InMemoryRegionLock, RegionLock

log = logging.getLogger(__name__)
LOCK_TTL_S = 900.0  # past the longest operation (a rejoin's pg_rewind); released at its end


class Reported(Protocol):
    def line(self) -> str: ...


class PairBackend(Protocol):
    """One region's pair behind one backend (native, patroni, rds)."""

    region: str

    async def observe(self, at: float, timeout: float) -> PairObservation: ...

    async def failover(self, reason: str) -> Reported: ...

    async def switchover(self) -> Reported: ...

    async def set_synchronous(self, on: bool) -> None: ...


@runtime_checkable
class Rejoining(Protocol):
    """A backend whose old primary Covenant rejoins (native; Patroni and RDS do it alone)."""

    async def rejoin(self) -> Reported: ...


class DbSupervisor:
    def __init__(self, policy: FailoverPolicy, pairs: Mapping[str, PairBackend],
                 lock: RegionLock | None = None) -> None:
        self.policy = policy
        self.pairs = dict(pairs)
        # The region lock runbooks and game days take; ``covenant up`` sets the runbook
        # engine's own here. Alone (the benchmark, tools) a private one.
        self.lock: RegionLock = lock if lock is not None else InMemoryRegionLock()
        self.health: Mapping[str, PairHealth] = {}
        self.last: PairsDecision | None = None
        self.observations: dict[str, PairObservation] = {}
        self.reports: list[str] = []  # one line per failover carried out, newest last
        self.issued: dict[str, str] = {}  # region -> the incident whose failover is owed

    async def observe(self, at: float) -> dict[str, PairObservation]:
        """Every pair at once; a pair whose observation failed counts as an unprobed primary."""
        timeout = self.policy.probe_timeout_s
        results = await asyncio.gather(*(self._observe(b, at, timeout)
                                         for b in self.pairs.values()))
        self.observations = {o.region: o for o in results}
        return self.observations

    async def _observe(self, backend: PairBackend, at: float,
                       timeout: float) -> PairObservation:
        try:
            return await asyncio.wait_for(backend.observe(at, timeout), timeout + 0.5)
        except Exception as exc:  # noqa: BLE001 - one pair's failure is its observation
            problem = f"not observed ({exc})" if str(exc) else f"not observed ({exc!r})"
            log.warning("db %s: %s", backend.region, problem)
            return PairObservation(backend.region, at, -1, "?", None, None, "",
                                   {"?": NodeProbe("?", False, timeout, problem)})

    def decide(self, observations: Mapping[str, PairObservation], now: float,
               leader: bool) -> tuple[Action, ...]:
        decision = decide_pairs(self.policy, observations, self.health, now, leader)
        self.health, self.last = decision.state, decision
        for verdict in decision.verdicts:
            if verdict.changed:
                log.info("verdict: %s", verdict.line)
        for action in decision.actions:
            if action.kind is ActionKind.FAILOVER_DB and action.region:
                self.issued[action.region] = action.incident_id or ""
        return decision.actions

    def triggers(self) -> tuple[RunbookTrigger, ...]:
        """The last decision's standing runbook verdicts (db_primary_down, replication_lag)."""
        return self.last.triggers if self.last is not None else ()

    def withdraw(self, region: str, why: str) -> None:
        """The failover issued for ``region`` could not start (the region is held): the next
        pass issues it again (``decide.withdrawn``) rather than leave the primary down."""
        health = self.health.get(region)
        self.issued.pop(region, None)
        if health is not None and health.failed_over:
            self.health = {**self.health, region: withdrawn(health)}
            log.warning("db %s: failover not started (%s); issued again next pass", region, why)

    def suspect(self) -> bool:
        """A primary failed a probe but is not down yet: confirm soon."""
        return any(0 < h.failures < self.policy.down_after for h in self.health.values())

    def backend(self, region: str) -> PairBackend:
        try:
            return self.pairs[region]
        except KeyError as exc:
            raise DbFailoverError(f"region {region} has no database pair (pairs: "
                                  f"{', '.join(sorted(self.pairs)) or 'none'}); name one "
                                  "under db.pairs in covenant.yaml") from exc

    async def failover(self, region: str, reason: str, incident_id: str | None = None) -> None:
        """A direct failover (the reconciler's DbFailover hook where no runbook carries it
        out), under the region lock; refused while someone else holds the region, and then
        withdrawn, so the next pass issues it again."""
        backend = self.backend(region)
        try:
            async with self.holding(region, "failover"):
                await self._failover(region, backend, reason)
        except RegionHeld as exc:
            self.withdraw(region, str(exc))
            raise

    async def failover_in_run(self, region: str, reason: str, holder: str) -> str:
        """The ``postgres-primary-down`` run's promote step, under the run's own lock
        (``holder``). The pure decision is the gate: only a failover it issued (a standby
        synchronous at the last observation, the leader, once per incident) is carried out."""
        backend = self.backend(region)
        current = await self.lock.holder(region)
        if current not in (None, holder):
            raise RegionHeld(f"region {region} is locked by {current}, not by this run "
                             f"({holder}); the run fails and pages: fail over by hand with "
                             f"`covenant db failover {region}` once it is released")
        if region not in self.issued:
            raise DbFailoverError(f"the pair decision issued no failover of {region} ("
                                  f"{self._verdict(region)}); promoting now could lose "
                                  f"acknowledged writes: fail over by hand with `covenant db "
                                  f"failover {region}` if you accept that")
        return await self._failover(region, backend, reason)

    async def _failover(self, region: str, backend: PairBackend, reason: str) -> str:
        try:
            report = await backend.failover(reason)
        finally:
            self.issued.pop(region, None)  # carried out or failed: never twice per incident
        self.reports.append(report.line())
        log.warning("%s", report.line())
        return report.line()

    async def switchover(self, region: str) -> str:
        """Planned: the standby becomes primary (under the region lock)."""
        backend = self.backend(region)
        async with self.holding(region, "switchover"):
            report = await backend.switchover()
        log.warning("%s", report.line())
        return report.line()

    async def rejoin(self, region: str, on_behalf_of: Collection[str] = ()) -> str:
        """The fenced old primary becomes the standby again (under the region lock). While a
        holder in ``on_behalf_of`` holds the region (the failover run whose manual step asks
        for this rejoin), it goes ahead under that holder's lock instead."""
        backend = self.backend(region)
        if not isinstance(backend, Rejoining):
            raise DbFailoverError(f"{region}'s backend rejoins its old primary by itself "
                                  "(Patroni: pg_rewind; RDS: AWS)")
        if await self.lock.holder(region) in on_behalf_of:
            report = await backend.rejoin()
        else:
            async with self.holding(region, "rejoin"):
                report = await backend.rejoin()
        log.warning("%s", report.line())
        return report.line()

    @contextlib.asynccontextmanager
    async def holding(self, region: str, operation: str) -> AsyncIterator[None]:
        """Hold the region's lock as ``db:<operation>``; refused while someone else does."""
        holder = f"db:{operation}"
        if not await self.lock.acquire(region, holder, LOCK_TTL_S):
            current = await self.lock.holder(region)
            raise RegionHeld(f"region {region} is locked by {current}: {operation} refused; "
                             "retry once it is released (`covenant runbook status` shows the "
                             "runs)")
        try:
            yield
        finally:
            await self.lock.release(region, holder)

    def _verdict(self, region: str) -> str:
        verdicts = self.last.verdicts if self.last is not None else ()
        return next((v.line for v in verdicts if v.region == region), "not observed yet")

    async def set_synchronous(self, region: str, on: bool, reason: str) -> None:
        await self.backend(region).set_synchronous(on)
        log.warning("db %s: synchronous %s (%s)", region, "on" if on else "off", reason)
