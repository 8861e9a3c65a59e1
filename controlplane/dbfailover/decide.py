"""``decide_pairs()``: pure, like ``controlplane.decide``: from the failover policy, this
cycle's pair observations, the previous per-pair health, ``now`` and leadership to the
actions to take, one plain-English verdict per pair and the next health.

The safety rules, each a test in tests/controlplane/test_controlplane_dbfailover_decide.py:

- fail over only after ``down_after`` consecutive failed probes of the primary (one slow
  query is one failure, not a failover);
- only to a standby that was synchronous at the last observation of a live primary (so it
  holds every acknowledged write), that answers now and is still in recovery;
- never when this replica is not the leader, never while another process holds the pair
  (a switchover or rejoin), never twice in one incident;
- a live primary without a synchronous standby for ``sync_grace_s`` goes asynchronous
  (writes continue, recorded as an incident) and failover stays off until the standby is
  synchronous again; a standby back within ``resync_lag_bytes`` is made synchronous again.

It also names the standing runbook triggers (``controlplane.triggers.RunbookTrigger``) the
reconciler hands to the runbook engine: ``db_primary_down`` while the primary is down in an
open incident (the ``postgres-primary-down`` run it starts fails over only when this
decision issued the failover, so a refused failover pages a person instead), and
``replication_lag`` while the standby's replay lags more than ``replication_lag_s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from controlplane.dbfailover.observation import NodeProbe, PairObservation
from controlplane.dbspec import FailoverPolicy
from controlplane.decide import Action, ActionKind
from controlplane.triggers import RunbookTrigger

DB_PRIMARY_DOWN = "db_primary_down"
REPLICATION_LAG = "replication_lag"


class Condition(StrEnum):
    HEALTHY = "healthy"        # primary up, standby synchronous
    NO_SYNC = "no_sync"        # primary up, no synchronous standby (writes wait, or async)
    SUSPECT = "suspect"        # primary failed fewer than down_after probes
    DOWN = "down"              # primary failed down_after probes in a row
    BUSY = "busy"              # another process holds the pair


@dataclass(frozen=True, slots=True)
class PairHealth:
    generation: int = -1
    condition: Condition = Condition.HEALTHY
    failures: int = 0                   # consecutive failed probes of the primary
    standby_sync: bool = False          # synchronous at the last observation of a live primary
    no_sync_since: float | None = None  # the live primary has had no synchronous standby since
    failed_over: bool = False           # a failover was issued in the open incident
    incident_id: str | None = None
    severity: str | None = None         # "degraded" or "down" while an incident is open
    opened_at: float = 0.0
    told: str = ""                      # the last reason the incident was given
    lagging_since: float | None = None  # the standby's replay has lagged too long since


@dataclass(frozen=True, slots=True)
class PairVerdict:
    region: str
    condition: Condition
    changed: bool
    line: str


@dataclass(frozen=True, slots=True)
class PairsDecision:
    actions: tuple[Action, ...]
    verdicts: tuple[PairVerdict, ...]
    state: Mapping[str, PairHealth]
    triggers: tuple[RunbookTrigger, ...] = ()  # standing runbook verdicts (leader only)


@dataclass(frozen=True, slots=True)
class _Step:
    health: PairHealth
    actions: tuple[Action, ...]
    line: str


def decide_pairs(policy: FailoverPolicy, observations: Mapping[str, PairObservation],
                 state: Mapping[str, PairHealth], now: float, leader: bool) -> PairsDecision:
    actions: list[Action] = []
    verdicts: list[PairVerdict] = []
    triggers: list[RunbookTrigger] = []
    healths: dict[str, PairHealth] = {}
    for region in sorted(observations):
        before = state.get(region, PairHealth())
        step = step_pair(policy, observations[region], before, now, leader)
        health = track_lag(policy, observations[region], step.health, now)
        healths[region] = health
        actions.extend(step.actions)
        changed = health.condition is not before.condition or \
            health.generation != before.generation
        line = f"{region} db: {step.line}"
        verdicts.append(PairVerdict(region, health.condition, changed, line))
        if leader:
            triggers.extend(pair_triggers(region, health, line))
    return PairsDecision(tuple(actions), tuple(verdicts), healths, tuple(triggers))


def track_lag(policy: FailoverPolicy, obs: PairObservation, health: PairHealth,
              now: float) -> PairHealth:
    """Since when the standby's replay has lagged more than ``replication_lag_s`` (None when
    it does not, or cannot be seen: a lag is only known from a live primary)."""
    replica = obs.standby_replica() if health.condition in (Condition.HEALTHY,
                                                            Condition.NO_SYNC) else None
    lag = replica.replay_lag_s if replica is not None else None
    if lag is None or lag <= policy.replication_lag_s:
        return replace(health, lagging_since=None) if health.lagging_since is not None \
            else health
    since = health.lagging_since if health.lagging_since is not None else now
    return replace(health, lagging_since=since)


def pair_triggers(region: str, health: PairHealth, line: str) -> tuple[RunbookTrigger, ...]:
    """The runbook verdicts a pair stands for: its primary down in an open incident (since
    the incident opened: one run per incident), its standby lagging (since it began)."""
    out = []
    if health.condition is Condition.DOWN and health.incident_id is not None:
        out.append(RunbookTrigger(DB_PRIMARY_DOWN, region, health.opened_at, line))
    if health.lagging_since is not None:
        out.append(RunbookTrigger(REPLICATION_LAG, region, health.lagging_since, line))
    return tuple(out)


def withdrawn(health: PairHealth) -> PairHealth:
    """A failover issued but not started (another automation holds the region): forgotten,
    so the next pass, still seeing the primary down, issues it again."""
    return replace(health, failed_over=False)


def step_pair(policy: FailoverPolicy, obs: PairObservation, before: PairHealth, now: float,
              leader: bool) -> _Step:
    if before.generation != obs.generation:  # roles changed: nothing carries over but the incident
        before = replace(PairHealth(), generation=obs.generation, incident_id=before.incident_id,
                         severity=before.severity, opened_at=before.opened_at, told=before.told,
                         failed_over=before.failed_over)
    if obs.busy:
        return _Step(replace(before, condition=Condition.BUSY, failures=0), (),
                     f"held by another process ({obs.busy}): not acting")
    primary = obs.primary_probe
    problem = primary_problem(obs.primary, primary)
    if problem:
        return _primary_failed(policy, obs, before, now, leader, problem)
    assert primary is not None
    return _primary_up(policy, obs, primary, before, now, leader)


def primary_problem(node: str, probe: NodeProbe | None) -> str:
    """Why the primary cannot take writes ("" when it can)."""
    if probe is None:
        return f"primary {node} was not probed"
    if not probe.ok:
        return f"primary {node} {probe.problem}"
    if probe.in_recovery:
        return f"primary {node} answers but is in recovery (read-only)"
    return ""


def _primary_up(policy: FailoverPolicy, obs: PairObservation, primary: NodeProbe,
                before: PairHealth, now: float, leader: bool) -> _Step:
    replica = obs.standby_replica()
    synchronous = bool(primary.sync_names) and replica is not None and replica.synchronous
    latency = f"{primary.latency_s * 1000:.0f} ms"
    if synchronous:
        health = replace(before, condition=Condition.HEALTHY, failures=0, standby_sync=True,
                         no_sync_since=None)
        lag = obs.lag_bytes()
        line = (f"primary {obs.primary} up ({latency}), standby {obs.standby} synchronous, "
                f"lag {lag if lag is not None else '?'} B")
        return _Step(*_resolve(obs.region, health, now, leader), line)
    since = before.no_sync_since if before.no_sync_since is not None else now
    health = replace(before, condition=Condition.NO_SYNC, failures=0, standby_sync=False,
                     no_sync_since=since)
    waited = now - since
    why = _why_not_sync(obs, primary)
    actions: list[Action] = []
    if primary.sync_names:  # synchronous: every write waits for a standby that is not there
        line = (f"primary {obs.primary} up, {why} for {waited:.1f} s: writes wait; "
                f"asynchronous at {policy.sync_grace_s:g} s")
        if waited >= policy.sync_grace_s and leader:
            reason = (f"{obs.region} db: {why} for {waited:.1f} s: primary {obs.primary} goes "
                      f"asynchronous so writes continue; no failover until the standby is "
                      f"synchronous again")
            actions.append(Action(ActionKind.DB_SYNC_OFF, reason, region=obs.region))
            health, opened = _incident(obs.region, health, "degraded", reason, now)
            actions = [*opened, *actions]
        return _Step(health, tuple(actions), line)
    lag = obs.lag_bytes()
    if obs.standby is None:
        line = f"primary {obs.primary} up, asynchronous: no standby (covenant db rejoin " \
               f"{obs.region})"
    else:
        line = f"primary {obs.primary} up, asynchronous: {why}"
    if leader and replica is not None and replica.state == "streaming" and lag is not None \
            and lag <= policy.resync_lag_bytes:
        actions.append(Action(ActionKind.DB_SYNC_ON, f"{obs.region} db: standby "
                              f"{obs.standby} streaming, {lag} B behind: synchronous again",
                              region=obs.region))
    elif leader:
        reason = f"{obs.region} db: {line}; failover is off until a standby is synchronous"
        health, opened = _incident(obs.region, health, "degraded", reason, now)
        actions.extend(opened)
    return _Step(health, tuple(actions), line)


def _why_not_sync(obs: PairObservation, primary: NodeProbe) -> str:
    if obs.standby is None:
        return "no standby"
    replica = obs.standby_replica()
    if replica is None:
        return f"standby {obs.standby} not replicating"
    if replica.state != "streaming":
        return f"standby {obs.standby} {replica.state}"
    if not primary.sync_names:
        return f"standby {obs.standby} streaming, {obs.lag_bytes()} B behind"
    return f"standby {obs.standby} {replica.sync_state}"


def _primary_failed(policy: FailoverPolicy, obs: PairObservation, before: PairHealth,
                    now: float, leader: bool, problem: str) -> _Step:
    failures = before.failures + 1
    if failures < policy.down_after:
        health = replace(before, condition=Condition.SUSPECT, failures=failures)
        return _Step(health, (), f"{problem} ({failures}/{policy.down_after} probes)")
    health = replace(before, condition=Condition.DOWN, failures=failures)
    refusal = failover_refusal(obs, before)
    if refusal:
        line = f"{problem} ({failures} probes): no failover: {refusal}"
    elif before.failed_over:
        line = f"{problem} ({failures} probes): failover already issued in this incident"
    else:
        line = f"{problem} ({failures} probes): fail over to {obs.standby} (synchronous at " \
               f"the last observation)"
    if not leader:
        return _Step(health, (), line + " [standby replica: not acting]")
    if before.failed_over:  # said when it was issued; the new roles will speak for themselves
        return _Step(health, (), line)
    health, actions = _incident(obs.region, health, "down", f"{obs.region} db: {line}", now)
    if not refusal:
        actions.append(Action(ActionKind.FAILOVER_DB, f"{obs.region} db: {problem}: promote "
                              f"standby {obs.standby}, fence {obs.primary}", region=obs.region,
                              incident_id=health.incident_id, severity="down"))
        health = replace(health, failed_over=True)
    return _Step(health, tuple(actions), line)


def failover_refusal(obs: PairObservation, before: PairHealth) -> str:
    """Why failing over now would be unsafe ("" when it is safe)."""
    if obs.standby is None:
        return f"no standby (covenant db rejoin {obs.region} first)"
    if not before.standby_sync:
        return (f"standby {obs.standby} was not synchronous at the last observation; "
                "promoting it could lose acknowledged writes")
    standby = obs.standby_probe
    if standby is None or not standby.ok:
        return f"standby {obs.standby} {standby.problem if standby else 'was not probed'}"
    if not standby.in_recovery:
        return f"standby {obs.standby} is not in recovery (already promoted by someone else?)"
    return ""


def _incident(region: str, health: PairHealth, severity: str, reason: str,
              now: float) -> tuple[PairHealth, list[Action]]:
    """Open the pair's incident, or update it when its severity or reason changed."""
    if health.incident_id is None:
        incident_id = f"db-{region}-{int(now * 1000)}"
        opened = replace(health, incident_id=incident_id, severity=severity, opened_at=now,
                         told=reason, failed_over=False)
        return opened, [Action(ActionKind.OPEN_INCIDENT, reason, region=region,
                               incident_id=incident_id, severity=severity)]
    if health.severity == severity and _head(health.told) == _head(reason):
        return health, []
    updated = replace(health, severity=severity, told=reason)
    return updated, [Action(ActionKind.UPDATE_INCIDENT, reason, region=region,
                            incident_id=health.incident_id, severity=severity)]


def _head(reason: str) -> str:
    """A reason without its counters, so '3 probes' and '4 probes' are one thing to say."""
    return "".join(c for c in reason if not c.isdigit() and c != ".")


def _resolve(region: str, health: PairHealth, now: float,
             leader: bool) -> tuple[PairHealth, tuple[Action, ...]]:
    if health.incident_id is None or not leader:
        return health, ()
    took = now - health.opened_at
    action = Action(ActionKind.RESOLVE_INCIDENT, f"{region} db: primary up with a synchronous "
                    f"standby again after {took:.1f} s", region=region,
                    incident_id=health.incident_id, severity="resolved")
    return replace(health, incident_id=None, severity=None, told="", failed_over=False,
                   opened_at=0.0), (action,)
