"""The actuators runbooks call, as adapters over what this process really drives: the
reconciler's route overrides (``route.*``), the embedded Toxiproxy server (``chaos.*``), the
incident desk (``incident.*``), Redis (``cache.*``) and the DB failover hook
(``db.failover``). Each returns one line for the journal and raises when it did not happen.

What cannot act here is not wired, and :data:`UNWIRED` says why, so a runbook that needs it
is refused for real and runs only as a dry run (never pretend).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from controlplane.dbfailover.runbook import FailoverDb
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.overrides import RouteOverrides
from covenant.runbook_probes import StackView, region_arg
from runbooks.errors import RunbookError
from runbooks.ports import Actuator, CallContext, Escalation, Escalator
from runbooks.templating import ArgValue

MOVE_TIMEOUT_S = 10.0  # routes follow an override within a reconcile pass or two
UNWIRED: Mapping[str, str] = {
    "deploy.freeze": "Covenant drives no deploy pipeline here (`covenant slo gate` follows "
                     "the error-budget policy's own verdicts)",
    "deploy.unfreeze": "Covenant drives no deploy pipeline here",
    "db.failover": "no database pair is supervised here (db.pairs in covenant.yaml)",
    "db.route_reads": "no read routing between database nodes exists here",
    "db.checkpoint": "no database pair is supervised here",
    "db.drop_slot": "no database pair is supervised here",
    "scale": "no scaler is wired: each region runs one API process here",
    "outbox.drain": "each region's relay drains its own outbox; the control plane cannot",
    "evidence.collect": "the evidence collectors (compliance) are not built yet",
    "residency.quarantine": "residency enforcement (compliance) is not built yet",
    "residency.release": "residency enforcement (compliance) is not built yet",
    "residency.relocate": "residency enforcement (compliance) is not built yet",
    "cache.flush": "no Redis is configured (settings.redis_url)",
    "cache.warm": "no Redis is configured (settings.redis_url)",
    "chaos.pause": "no chaos proxy runs in this process",
    "chaos.resume": "no chaos proxy runs in this process",
}


def who(ctx: CallContext) -> str:
    return f"runbook:{ctx.runbook}#{ctx.run_id}" if ctx.run_id else "by-hand"


def reason_of(args: Mapping[str, ArgValue], ctx: CallContext) -> str:
    given = args.get("reason")
    return str(given) if given else f"{ctx.runbook} step {ctx.step_id}"


@dataclass
class RouteDrain:
    view: StackView

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        region = region_arg(args, "route.drain")
        overrides = _overrides(self.view)
        changed = await overrides.drain(region, reason_of(args, ctx), who(ctx), time.time())
        target = await _routes_settle(self.view, region, away=True)
        lead = f"{region} drained" if changed else f"{region} was already drained"
        if target == region:
            return (f"{lead}; no healthy region can take its traffic, so it stays home "
                    "(fail open) until one can")
        return f"{lead}: its traffic goes to {target}"


@dataclass
class RouteRestore:
    view: StackView

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        region = region_arg(args, "route.restore")
        changed = await _overrides(self.view).restore(region, reason_of(args, ctx), who(ctx))
        lead = f"{region} restored" if changed else f"{region} was not drained"
        target = await _routes_settle(self.view, region, away=False)
        if target != region:
            return f"{lead}; its traffic returns once it is healthy (now to {target})"
        return f"{lead}: it serves its own traffic"


@dataclass
class ChaosSwitch:
    view: StackView
    pause: bool

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        chaos = self.view.chaos
        if chaos is None:
            raise RunbookError("no chaos proxy runs in this process")
        was = chaos.paused
        if self.pause:
            await chaos.pause(reason_of(args, ctx))
        else:
            await chaos.resume(reason_of(args, ctx))
        return f"chaos {chaos.describe()}" + (" (unchanged)" if was == chaos.paused else "")


@dataclass
class IncidentOpen:
    view: StackView

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        region = region_arg(args, "incident.open")
        incident, opened = await asyncio.to_thread(
            self.view.desk.open, region, str(args["severity"]), str(args["title"]))
        return f"incident {incident} {'opened' if opened else 'was already open'}"


@dataclass
class IncidentAnnotate:
    view: StackView

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        region = region_arg(args, "incident.annotate")
        note = f"{args['note']} ({who(ctx)})"
        incident = await asyncio.to_thread(self.view.desk.annotate, region, note)
        if incident is None:
            return f"no open incident in {region}: the note stays in this run's journal only"
        return f"noted on incident {incident}"


@dataclass
class IncidentEscalate:
    """Raise the region's incident and page (the escalation channels: PagerDuty when a
    routing key is set, the bus event always)."""

    view: StackView
    pager: Escalator

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        region, severity = region_arg(args, "incident.escalate"), str(args["severity"])
        reason = reason_of(args, ctx)
        incident = await asyncio.to_thread(self.view.desk.raise_severity, region, severity,
                                           reason)
        what = f"incident {incident}" if incident else f"{region} (no open incident)"
        await self.pager.escalate(Escalation(ctx.run_id, ctx.runbook, what, region, severity,
                                             reason, ctx.step_id, time.time(),
                                             {"incident": incident or ""}))
        return f"{what} raised to {severity} and paged" if incident else f"{what}: paged"


@dataclass
class CacheFlush:
    url: str
    namespace: str

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        import redis.asyncio as aioredis

        region = region_arg(args, "cache.flush")
        pattern = f"{self.namespace}:{region}:{args.get('prefix') or ''}*"
        client = aioredis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=2)
        try:
            removed = 0
            async for key in client.scan_iter(match=pattern, count=500):
                removed += int(await client.delete(key))
        finally:
            await client.aclose()  # type: ignore[attr-defined]  # (types-redis lags redis 5)
        return f"deleted {removed} cached entries of {region} ({pattern})"


@dataclass
class CacheWarm:
    """GETs the region's hot pages through its origin, so its read-through cache fills:
    the statistics and each home country's statistics page."""

    origins: Mapping[str, str]
    homes: Mapping[str, Sequence[str]]  # region -> its countries (ISO3)
    client: httpx.AsyncClient

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        region = region_arg(args, "cache.warm")
        origin = self.origins.get(region)
        if origin is None:
            raise RunbookError(f"no origin is known for {region}")
        top = args.get("top")
        countries = list(self.homes.get(region, ()))[:top if isinstance(top, int) else None]
        paths = ["/v1/statistics", *(f"/v1/countries/{c}/statistics" for c in countries)]
        answers = await asyncio.gather(*(self.client.get(origin + p) for p in paths),
                                       return_exceptions=True)
        ok = sum(isinstance(a, httpx.Response) and a.is_success for a in answers)
        if not ok:
            raise RunbookError(f"{region} answered none of {len(paths)} warm-up reads")
        return f"warmed {ok} of {len(paths)} pages of {region}"


def _overrides(view: StackView) -> RouteOverrides:
    overrides = view.reconciler.overrides
    if overrides is None:
        raise RunbookError("the reconciler has no route overrides to drain with")
    return overrides


async def _routes_settle(view: StackView, region: str, away: bool) -> str:
    """Where the region's traffic goes once the reconciler applied the change (or the last
    target seen after a few passes)."""
    deadline = time.monotonic() + MOVE_TIMEOUT_S
    target = region
    while time.monotonic() < deadline:
        table = view.router.current
        target = (table.target(region) if table else None) or region
        if (target != region) == away:
            return target
        await asyncio.sleep(0.05)
    return target


def actuators(view: StackView, pager: Escalator, db: DbSupervisor | None,
              origins: Mapping[str, str], homes: Mapping[str, Sequence[str]],
              client: httpx.AsyncClient) -> dict[str, Actuator]:
    """Every actuator this stack can carry out, by catalogue name."""
    out: dict[str, Actuator] = {
        "route.drain": RouteDrain(view), "route.restore": RouteRestore(view),
        "incident.open": IncidentOpen(view), "incident.annotate": IncidentAnnotate(view),
        "incident.escalate": IncidentEscalate(view, pager),
    }
    if view.chaos is not None:
        out |= {"chaos.pause": ChaosSwitch(view, True), "chaos.resume": ChaosSwitch(view, False)}
    if db is not None:
        out["db.failover"] = FailoverDb(db)
    if view.cache.redis_url:
        out["cache.flush"] = CacheFlush(view.cache.redis_url, view.cache.namespace)
        out["cache.warm"] = CacheWarm(origins, homes, client)
    return out
