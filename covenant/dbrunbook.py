"""The automatic failover as the ``postgres-primary-down`` runbook in ``covenant up``: the
reconciler's hooks of a stack with database pairs (the hook itself is
``controlplane.dbfailover.runbook.RunbookFailover``; the stack attaches the runbook engine's
dispatcher and region lock to it once the engine is built)."""

from __future__ import annotations

from controlplane.actuators import Runbook
from controlplane.dbfailover.runbook import RunbookFailover
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.reconciler import Hooks


def db_hooks(runbook: Runbook, supervisor: DbSupervisor | None
             ) -> tuple[Hooks, RunbookFailover | None]:
    """The reconciler's hooks, and the failover hook of a stack with pairs (None without:
    nothing to fail over)."""
    if supervisor is None:
        return Hooks(runbook=runbook), None
    failover = RunbookFailover(supervisor)
    return Hooks(runbook=runbook, db=failover), failover
