"""The probes runbooks read (``check: {type: probe}``), over what this process already
knows: the reconciler's latest verdicts and observations, the route table and its
overrides, the incident desk, the chaos pause, the SLO gate's record, Redis and NATS.

Each is ``async (args) -> value``; a probe raises when it cannot observe (the step then
counts it as not observed), and answers ``False`` when what it asks about does not answer
(``cache.ping`` of a dead Redis is false, not an error). Only what this stack can observe is
wired; :data:`UNWIRED` says why the rest is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from controlplane.actuators import LocalRouter
from controlplane.incident_desk import IncidentDesk
from controlplane.observation import ProbeStatus
from controlplane.reconciler import Reconciler
from covenant.chaos_pause import ToxiproxyChaosPause
from kernel.settings import BusSettings, CacheSettings
from runbooks.checks import ProbeFn
from runbooks.errors import RunbookError
from runbooks.templating import ArgValue, Scalar
from slo.policy import deploys_frozen
from slo.store import SloStore

SERVICE = "core-api"
PING_TIMEOUT_S = 1.0
UNWIRED: Mapping[str, str] = {
    "db.role": "no database pair is supervised here (db.pairs in covenant.yaml)",
    "db.replication_lag_s": "no database pair is supervised here (db.pairs in covenant.yaml)",
    "db.disk_free_ratio": "no database volume is watched here",
    "evidence.age_s": "the evidence ledger (compliance) is not built yet",
    "cache.ping": "no Redis is configured (settings.redis_url)",
    "chaos.paused": "no chaos proxy runs in this process",
    "chaos.active": "no chaos proxy runs in this process",
}


@dataclass
class StackView:
    """What the probes and actuators read and drive, all of this process."""

    reconciler: Reconciler
    router: LocalRouter
    desk: IncidentDesk
    chaos: ToxiproxyChaosPause | None = None
    slo: SloStore | None = None
    cache: CacheSettings = CacheSettings()
    bus: BusSettings = BusSettings()


def region_arg(args: Mapping[str, ArgValue], what: str) -> str:
    region = args.get("region")
    if not isinstance(region, str) or not region:
        raise RunbookError(f"{what} needs the argument region=<code>")
    return region


def build_probes(view: StackView) -> dict[str, ProbeFn]:
    """Every probe this stack can answer, by name."""
    probes: dict[str, ProbeFn] = {
        "region.health": lambda a: _health(view, a),
        "region.reachable": lambda a: _reachable(view, a),
        "region.latency_s": lambda a: _latency(view, a),
        "region.p99_s": lambda a: _p99(view, a),
        "route.weight": lambda a: _weight(view, a),
        "route.drained": lambda a: _drained(view, a),
        "incident.active": lambda a: _incident(view, a),
        "bus.connected": lambda a: bus_connected(view.bus),
    }
    if view.chaos is not None:
        chaos = view.chaos
        probes["chaos.paused"] = lambda a: _value(chaos.paused)
        probes["chaos.active"] = lambda a: _chaos_active(chaos, a)
    if view.slo is not None:
        slo = view.slo
        probes["deploy.frozen"] = lambda a: _frozen(slo)
    if view.cache.redis_url:
        url = view.cache.redis_url
        probes["cache.ping"] = lambda a: redis_ping(url)
    return probes


async def _value(value: Scalar | None) -> Scalar | None:
    return value


async def _chaos_active(chaos: ToxiproxyChaosPause, args: Mapping[str, ArgValue]
                        ) -> Scalar | None:
    region = region_arg(args, "chaos.active")
    proxy = chaos.server.proxies().get(f"{region}_api")
    if proxy is None:
        raise RunbookError(f"no proxy {region}_api in the chaos server")
    return bool(proxy.toxics) or not proxy.enabled


async def _health(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "region.health")
    health = view.reconciler.state.regions.get(region)
    if health is None:
        raise RunbookError(f"the reconciler has no verdict for {region} yet")
    return health.state.value


async def _reachable(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "region.reachable")
    seen = view.reconciler.observations.get(region)
    if seen is None:
        raise RunbookError(f"the control plane has not probed {region} yet")
    return seen.status is not ProbeStatus.UNREACHABLE


async def _latency(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "region.latency_s")
    seen = view.reconciler.observations.get(region)
    if seen is None:
        raise RunbookError(f"the control plane has not probed {region} yet")
    return seen.latency_s


async def _p99(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "region.p99_s")
    seen = view.reconciler.observations.get(region)
    if seen is None:
        raise RunbookError(f"the control plane has not probed {region} yet")
    return seen.latency_p99_s


async def _weight(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "route.weight")
    table = view.router.current
    if table is None:
        raise RunbookError("no route table is applied yet")
    return table.as_dict().get(region, {}).get(region, 0) / 100


async def _drained(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "route.drained")
    overrides = view.reconciler.overrides
    return overrides is not None and region in overrides.drained()


async def _incident(view: StackView, args: Mapping[str, ArgValue]) -> Scalar | None:
    region = region_arg(args, "incident.active")
    return await asyncio.to_thread(view.desk.open_incident, region) is not None


async def _frozen(slo: SloStore) -> Scalar | None:
    decisions = await asyncio.to_thread(slo.decisions, SERVICE, 200)
    return deploys_frozen(decisions, SERVICE)


async def redis_ping(url: str) -> Scalar | None:
    """True when Redis answers PING within a second; False when it does not."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(url, socket_timeout=PING_TIMEOUT_S,
                                     socket_connect_timeout=PING_TIMEOUT_S)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # (types-redis lags redis 5)


async def bus_connected(bus: BusSettings) -> Scalar | None:
    """True when the event bus would accept a publish: the in-process bus always does;
    NATS when it answers and its JetStream account does, within a second."""
    if not bus.nats_url:
        return True
    import nats
    import nats.errors

    async def quiet(_: Exception) -> None:  # the answer is the point, not a log line
        return None

    try:
        client = await asyncio.wait_for(nats.connect(
            bus.nats_url, connect_timeout=PING_TIMEOUT_S, max_reconnect_attempts=0,
            allow_reconnect=False, error_cb=quiet), 2 * PING_TIMEOUT_S)
    except (nats.errors.Error, OSError, TimeoutError):
        return False
    try:
        await asyncio.wait_for(client.jetstream().account_info(), PING_TIMEOUT_S)
        return True
    except (nats.errors.Error, OSError, TimeoutError):
        return False
    finally:
        await client.close()
