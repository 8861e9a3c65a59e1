"""Act: small Protocols the reconciler calls, their embedded implementations and no-op hooks.

Actuators are dumb: they carry out one action each and never decide anything.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

from controlplane.decide import Action
from controlplane.routing import RouteTable
from controlplane.store import action_payload
from controlplane.triggers import RunbookTrigger

log = logging.getLogger(__name__)

EVENT_PREFIX = "covenant.controlplane"


class Router(Protocol):
    async def apply(self, routes: RouteTable) -> None:
        """Make traffic follow ``routes``; raise on failure (the next cycle retries)."""


class Publisher(Protocol):
    async def publish(self, subject: str, data: bytes, msg_id: str) -> None: ...


class Runbook(Protocol):
    async def run(self, name: str, region: str, reason: str) -> None:
        """Start the runbook ``name`` in ``region`` (``hooks.runbook_on_down``)."""
        ...

    async def trigger(self, trigger: RunbookTrigger) -> None:
        """A standing verdict (region_down, latency, budget_burn), handed over every cycle
        while it stands: start the runbooks it triggers, or attach to their runs. Must
        return at once (the loop waits for it)."""
        ...


class ChaosPause(Protocol):
    async def pause(self, reason: str) -> None: ...

    async def resume(self, reason: str) -> None: ...


class DbFailover(Protocol):
    async def failover(self, region: str, reason: str, incident_id: str | None = None) -> None:
        """Fail over ``region``'s pair; ``incident_id`` is the pair's incident (the action
        is recorded after it is carried out, so the hook is told it explicitly)."""
        ...


class LocalRouter:
    """The table as this replica last applied it: what ``/v1/routes`` shows (and what a
    starting front door pulls); ``FrontDoorRouter`` pushes the same table to the front door."""

    def __init__(self, initial: RouteTable | None = None) -> None:
        self.current = initial

    async def apply(self, routes: RouteTable) -> None:
        self.current = routes


class FanoutRouter:
    """Apply the same routes through several routers (e.g. front door and Route 53)."""

    def __init__(self, *routers: Router) -> None:
        self._routers = routers

    async def apply(self, routes: RouteTable) -> None:
        for router in self._routers:
            await router.apply(routes)


class EventPublisher:
    """Every action becomes one ``covenant.controlplane.<kind>`` event on the bus."""

    def __init__(self, bus: Publisher, source: str) -> None:
        self._bus = bus
        self._source = source

    async def publish(self, at: float, action: Action, seq: int) -> None:
        payload = {"at": at, "source": self._source, **action_payload(action)}
        # The msg_id makes a retried publish of the same action a no-op on JetStream.
        msg_id = f"cp-{self._source}-{at:.3f}-{seq}-{action.kind.value}"
        await self._bus.publish(f"{EVENT_PREFIX}.{action.kind.value}",
                                json.dumps(payload, separators=(",", ":")).encode(), msg_id)


class NoopRunbook:
    async def run(self, name: str, region: str, reason: str) -> None:
        log.info("runbook hook not wired: would run %s for %s (%s)", name, region, reason)

    async def trigger(self, trigger: RunbookTrigger) -> None:
        log.debug("runbook hook not wired: verdict %s stands in %s", trigger.verdict,
                  trigger.region)


class NoopChaosPause:
    async def pause(self, reason: str) -> None:
        log.info("chaos-pause hook not wired: would pause (%s)", reason)

    async def resume(self, reason: str) -> None:
        log.info("chaos-pause hook not wired: would resume (%s)", reason)


class NoopDbFailover:
    async def failover(self, region: str, reason: str, incident_id: str | None = None) -> None:
        log.info("db-failover hook not wired: would fail over %s (%s)", region, reason)
