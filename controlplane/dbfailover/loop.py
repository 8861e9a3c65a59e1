"""The pairs on their own: observe → decide → act at the reconciler's cadence (a full
interval, or ``confirm_s`` after a failed probe), without regions. For the benchmark and
for tools; ``covenant up`` runs the pairs inside the reconciler's own pass instead. A
failover goes to ``db`` when given (the reconciler's ``DbFailover`` hook, e.g. the
postgres-primary-down runbook: ``controlplane.dbfailover.runbook.RunbookFailover``), else
straight to the supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from controlplane.actuators import DbFailover
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.decide import Action, ActionKind
from kernel.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


async def act(supervisor: DbSupervisor, action: Action, db: DbFailover | None = None) -> None:
    """Carry out one of the pairs' actions (incident actions are only logged here)."""
    if action.region is None:
        return
    if action.kind is ActionKind.FAILOVER_DB:
        await (db or supervisor).failover(action.region, action.reason, action.incident_id)
    elif action.kind in (ActionKind.DB_SYNC_OFF, ActionKind.DB_SYNC_ON):
        await supervisor.set_synchronous(action.region, action.kind is ActionKind.DB_SYNC_ON,
                                         action.reason)
    else:
        log.info("%s: %s", action.kind.value, action.reason)


async def run_pairs(supervisor: DbSupervisor, stop: asyncio.Event, interval_s: float = 1.0,
                    confirm_s: float = 0.25, leader: Callable[[], bool] = lambda: True,
                    clock: Clock = SYSTEM_CLOCK, db: DbFailover | None = None) -> None:
    while not stop.is_set():
        started = time.monotonic()
        now = clock.time()
        try:
            observations = await supervisor.observe(now)
            for action in supervisor.decide(observations, now, leader()):
                try:
                    await act(supervisor, action, db)
                except Exception as exc:  # noqa: BLE001 - logged; decided again next pass
                    log.warning("action %s failed: %s", action.kind.value, exc)
        except Exception:
            log.exception("pairs pass failed; retrying next interval")
        wait = (confirm_s if supervisor.suspect() else interval_s) - (time.monotonic() - started)
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
