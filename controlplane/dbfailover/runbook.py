"""What the "PostgreSQL primary down" runbook reads and calls, over the pairs' supervisor.

``db.failover`` is the supervisor itself (it is a ``DbFailover``: ``failover(region,
reason)``), which covenant/runbook_actuators.py already wires. The two probes below read the
supervisor's last observation (one per reconcile pass; no extra connection):

- ``db.role(region, node)``: ``primary`` | ``standby`` | ``down`` | ``none``. ``node`` is a
  role (``primary``, ``standby``: the node holding it now) or a node name (``a``, ``b``).
- ``db.replication_lag_s(region)``: the standby's replay lag in seconds as its primary
  reports it; None when there is no standby streaming.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import PairObservation
from controlplane.dbfailover.supervisor import DbSupervisor

Arg = str | int | float | bool | list[str]
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
