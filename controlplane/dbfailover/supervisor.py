"""What the reconciler drives each pass: observe every pair at once (beside the API probes,
never slowing the pass past the probe timeout), decide (pure, ``decide_pairs``), and carry
out failovers and synchronous-mode changes through each pair's backend.

It is also the reconciler's ``DbFailover`` hook (``failover(region, reason)``) and what the
runbook engine's ``db.failover`` actuator calls (``controlplane.dbfailover.runbook``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from controlplane.dbfailover.decide import PairHealth, PairsDecision, decide_pairs
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import NodeProbe, PairObservation
from controlplane.dbspec import FailoverPolicy
from controlplane.decide import Action

log = logging.getLogger(__name__)


class Reported(Protocol):
    def line(self) -> str: ...


class PairBackend(Protocol):
    """One region's pair behind one backend (native, patroni, rds)."""

    region: str

    async def observe(self, at: float, timeout: float) -> PairObservation: ...

    async def failover(self, reason: str) -> Reported: ...

    async def switchover(self) -> Reported: ...

    async def set_synchronous(self, on: bool) -> None: ...


class DbSupervisor:
    def __init__(self, policy: FailoverPolicy, pairs: Mapping[str, PairBackend]) -> None:
        self.policy = policy
        self.pairs = dict(pairs)
        self.health: Mapping[str, PairHealth] = {}
        self.last: PairsDecision | None = None
        self.observations: dict[str, PairObservation] = {}
        self.reports: list[str] = []  # one line per failover carried out, newest last

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
        return decision.actions

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

    async def failover(self, region: str, reason: str) -> None:
        """The reconciler's DbFailover hook."""
        report = await self.backend(region).failover(reason)
        self.reports.append(report.line())
        log.warning("%s", report.line())

    async def set_synchronous(self, region: str, on: bool, reason: str) -> None:
        await self.backend(region).set_synchronous(on)
        log.warning("db %s: synchronous %s (%s)", region, "on" if on else "off", reason)
