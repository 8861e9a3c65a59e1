"""What the "PostgreSQL primary down" runbook reads and calls, over the pairs' supervisor,
and the hook that makes the automatic failover a run of it.

``db.failover`` is :class:`FailoverDb` over the supervisor (covenant/runbook_actuators.py
wires it). The two probes below read the supervisor's last observation (one per reconcile
pass; no extra connection):

- ``db.role(region, node)``: ``primary`` | ``standby`` | ``down`` | ``none``. ``node`` is a
  role (``primary``, ``standby``: the node holding it now) or a node name (``a``, ``b``).
- ``db.replication_lag_s(region)``: the standby's replay lag in seconds as its primary
  reports it; None when there is no standby streaming.

:class:`RunbookFailover` is the reconciler's ``DbFailover`` hook where a runbook engine runs
(``covenant up``, the benchmark): when the pairs' pure decision issues FAILOVER_DB, it starts
(or attaches to) a ``postgres-primary-down`` run through the runbook dispatcher, linked to
the pair's incident; the run's ``promote`` step calls the supervisor's real failover
(``DbSupervisor.failover_in_run``), so the run's journal shows each step. What it does with
the dispatcher's answer is :func:`route` (pure):

- admitted or attached: the run carries the failover out;
- held (another automation holds the region): the failover is withdrawn, so the pair
  decision issues it again on a later pass, never stranded;
- refused because the runbook cannot run here (dry-run only), or no engine is attached:
  the supervisor fails over directly, and the log says why.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import PairObservation
from controlplane.dbfailover.supervisor import DbSupervisor
from kernel.locks import RegionLock
from runbooks.admission import Decision, lock_holder_name
from runbooks.dispatch import Dispatcher
from runbooks.ports import CallContext

log = logging.getLogger(__name__)
RUNBOOK = "postgres-primary-down"

Arg = str | int | float | bool | list[str | int | float | bool]  # runbooks' ArgValue
Probe = Callable[[Mapping[str, Arg]], Awaitable[str | float | None]]


def db_probes(supervisor: DbSupervisor) -> dict[str, Probe]:
    async def role(args: Mapping[str, Arg]) -> str | float | None:
        return node_role(_observed(supervisor, args), str(args.get("node", "primary")))

    async def lag(args: Mapping[str, Arg]) -> str | float | None:
        replica = _observed(supervisor, args).standby_replica()
        return replica.replay_lag_s if replica is not None else None

    return {"db.role": role, "db.replication_lag_s": lag}


def _observed(supervisor: DbSupervisor, args: Mapping[str, Arg]) -> PairObservation:
    region = str(args.get("region", ""))
    supervisor.backend(region)  # names the fix when the region has no pair
    obs = supervisor.observations.get(region)
    if obs is None:
        raise DbFailoverError(f"{region}'s pair has not been observed yet; retry after a pass")
    return obs


def node_role(obs: PairObservation, node: str) -> str:
    """The observed role of ``node`` (a role name resolves to the node holding it)."""
    name = obs.primary if node == "primary" else obs.standby if node == "standby" else node
    if name is None:
        return "none"
    probe = obs.nodes.get(name)
    if probe is None or not probe.ok:
        return "down"
    return "standby" if probe.in_recovery else "primary"


class Route(StrEnum):
    RUN = "run"          # the run fails over (its promote step)
    RETRY = "retry"      # withdrawn: issued again next pass
    DIRECT = "direct"    # the supervisor fails over now, without a run


def route(decision: Decision, run_id: int | None) -> tuple[Route, str]:
    """What becomes of an issued failover, from the dispatcher's answer, and why."""
    if decision in (Decision.ADMIT, Decision.ATTACH):
        return Route.RUN, f"run #{run_id} of {RUNBOOK} carries it out"
    if decision is Decision.HOLD:
        return Route.RETRY, "another automation holds the region; issued again next pass"
    if run_id is not None:  # a repeat of a key an ended run handled: never twice
        return Route.RUN, f"run #{run_id} of {RUNBOOK} already handled it"
    return Route.DIRECT, f"{RUNBOOK} cannot run here; failing over directly"


@dataclass
class RunbookFailover:
    """The reconciler's ``DbFailover`` hook: the failover as a runbook run."""

    supervisor: DbSupervisor
    dispatcher: Dispatcher | None = None  # set once the runbook engine is built (attach)

    def attach(self, dispatcher: Dispatcher, lock: RegionLock) -> None:
        """The runbook engine is built: runs carry the failovers out from now on, and the
        supervisor takes the engine's region lock (one lock for runs, game days and pair
        operations)."""
        self.dispatcher = dispatcher
        self.supervisor.lock = lock

    async def failover(self, region: str, reason: str, incident_id: str | None = None) -> None:
        if self.dispatcher is None:
            log.warning("db %s: the runbook engine is not wired; failing over directly",
                        region)
            await self.supervisor.failover(region, reason, incident_id)
            return
        key = f"failover:{region}:{incident_id or reason}"  # one run per incident
        outcome = await self.dispatcher.request(RUNBOOK, region, key,
                                                f"reconciler:{reason}", incident=incident_id)
        way, why = route(outcome.admission.decision, outcome.run_id)
        log.warning("db %s: failover %s: %s (%s)", region, way.value, why,
                    outcome.admission.reason)
        if way is Route.RETRY:
            self.supervisor.withdraw(region, outcome.admission.reason)
        elif way is Route.DIRECT:
            await self.supervisor.failover(region, reason, incident_id)


@dataclass
class FailoverDb:
    """The ``db.failover`` actuator. In a run: under the run's own region lock, and only a
    failover the pair decision issued (``DbSupervisor.failover_in_run``); by hand: a direct
    failover."""

    supervisor: DbSupervisor

    async def call(self, args: Mapping[str, Arg], ctx: CallContext) -> str:
        region = str(args.get("region") or "")
        if not region:
            raise DbFailoverError("db.failover needs the argument region=<code>")
        given = args.get("reason")
        reason = str(given) if given else f"{ctx.runbook} step {ctx.step_id}"
        if ctx.run_id:
            return await self.supervisor.failover_in_run(region, reason,
                                                         lock_holder_name(ctx.runbook))
        await self.supervisor.failover(region, reason)
        return f"{region}: standby promoted"
