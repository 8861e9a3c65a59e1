"""``decide()``: a pure function from desired state, observations, the previous state and
``now`` to the actions to take, one plain-English verdict per region, and the next state.

No I/O, no clock: everything it knows comes in as arguments, so it is table-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from controlplane.dependencies import (
    DependencyHealth,
    dependency_triggers,
    step_dependencies,
)
from controlplane.desired import DesiredState
from controlplane.health import Health, RegionHealth, Signal, classify, serving, step
from controlplane.observation import RegionObservation
from controlplane.routing import RouteTable, compute_routes
from controlplane.triggers import RunbookTrigger, standing_triggers


class ActionKind(StrEnum):
    SET_ROUTES = "set_routes"
    OPEN_INCIDENT = "open_incident"
    UPDATE_INCIDENT = "update_incident"
    RESOLVE_INCIDENT = "resolve_incident"
    RUN_RUNBOOK = "run_runbook"
    PAUSE_CHAOS = "pause_chaos"
    RESUME_CHAOS = "resume_chaos"
    FAILOVER_DB = "failover_db"
    DB_SYNC_OFF = "db_sync_off"   # a pair's primary stops waiting for its lost standby
    DB_SYNC_ON = "db_sync_on"     # its standby caught up: synchronous again


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    reason: str
    region: str | None = None
    incident_id: str | None = None
    severity: str | None = None
    routes: RouteTable | None = None
    runbook: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    region: str
    state: Health
    changed: bool
    line: str


@dataclass(frozen=True, slots=True)
class OpenIncident:
    incident_id: str
    region: str
    severity: str
    opened_at: float


@dataclass(frozen=True, slots=True)
class ReconcilerState:
    regions: Mapping[str, RegionHealth] = field(default_factory=dict)
    routes: RouteTable | None = None          # what was last applied (None: nothing yet)
    incidents: Mapping[str, OpenIncident] = field(default_factory=dict)
    chaos_paused: bool = False
    leader_epoch: int | None = None           # the epoch under which routes were applied
    # Each region's Redis and NATS ((verdict, region) -> state): controlplane.dependencies.
    dependencies: Mapping[tuple[str, str], DependencyHealth] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inputs:
    """Optional inputs from leader election and the later packages (no-ops when empty)."""

    leader: bool = True
    leader_epoch: int = 0
    slo_breaches: Mapping[str, str] = field(default_factory=dict)  # region -> reason
    anomalies: Mapping[str, str] = field(default_factory=dict)     # region -> reason
    chaos_freeze: str = ""  # the SLO policy froze chaos experiments, and why
    drained: Mapping[str, str] = field(default_factory=dict)  # region -> why (route.drain)


@dataclass(frozen=True, slots=True)
class Decision:
    actions: tuple[Action, ...]
    verdicts: tuple[Verdict, ...]
    state: ReconcilerState
    triggers: tuple[RunbookTrigger, ...] = ()  # standing runbook verdicts (leader only)


def decide(desired: DesiredState, observations: Mapping[str, RegionObservation],
           state: ReconcilerState, now: float, inputs: Inputs | None = None) -> Decision:
    inputs = inputs or Inputs()
    names = desired.region_names()
    healths: dict[str, RegionHealth] = {}
    verdicts: list[Verdict] = []
    for name in names:
        before = state.regions.get(name, RegionHealth(since=now))
        signal, problem = classify(observations.get(name), desired.health,
                                   _extra_bad(desired, inputs, name))
        after = step(before, signal, problem, now, desired.health)
        healths[name] = after
        verdicts.append(_verdict(name, before, after, signal, problem, observations.get(name)))
    deps = step_dependencies(state.dependencies, observations, now, desired.health)
    if not inputs.leader:
        # A standby tracks health (so it can take over warm) but never acts.
        return Decision((), tuple(verdicts), replace(state, regions=healths, leader_epoch=None,
                                                     dependencies=deps))
    actions: list[Action] = []
    incidents = dict(state.incidents)
    for name in names:
        actions.extend(_incident_actions(name, state.regions.get(name), healths[name],
                                         incidents, now))
        actions.extend(_hook_actions(desired, name, state.regions.get(name), healths[name]))
    routes = compute_routes(names, desired.nearest_order(),
                            {n: serving(h) and n not in inputs.drained
                             for n, h in healths.items()},
                            desired.routing.fail_open)
    if routes != state.routes or state.leader_epoch != inputs.leader_epoch:
        actions.insert(0, Action(ActionKind.SET_ROUTES, _routes_reason(
            state, routes, healths, inputs.leader_epoch, inputs.drained), routes=routes))
    freeze = inputs.chaos_freeze if desired.slo.enforce else ""
    paused, chaos = _chaos_actions(desired, healths, state.chaos_paused, freeze)
    actions.extend(chaos)
    return Decision(tuple(actions), tuple(verdicts), ReconcilerState(
        regions=healths, routes=routes, incidents=incidents, chaos_paused=paused,
        leader_epoch=inputs.leader_epoch, dependencies=deps),
        standing_triggers(healths) + dependency_triggers(deps))


def _extra_bad(desired: DesiredState, inputs: Inputs, name: str) -> str:
    if desired.slo.enforce and name in inputs.slo_breaches:
        return f"SLO policy: {inputs.slo_breaches[name]}"
    if desired.anomaly.treat_sustained_as_bad and name in inputs.anomalies:
        return f"sustained anomaly: {inputs.anomalies[name]}"
    return ""


def _verdict(name: str, before: RegionHealth, after: RegionHealth, signal: Signal,
             problem: str, obs: RegionObservation | None) -> Verdict:
    changed = before.state is not after.state
    head = f"{name} {before.state} -> {after.state}" if changed else f"{name} {after.state}"
    if signal is Signal.GOOD:
        latency = f"{obs.latency_s * 1000:.0f} ms" if obs and obs.latency_s is not None else "?"
        body = f"up, {latency}"
        if after.state is Health.RECOVERING:
            body += f", {after.good_streak} good cycle(s) on probation"
        elif after.state is not Health.HEALTHY:
            body += f", {after.good_streak} good cycle(s), sitting out the minimum dwell"
    else:
        body = f"{problem} ({max(after.bad_streak, after.missing_streak)} cycle(s))"
    return Verdict(name, after.state, changed, f"{head}: {body}")


def _incident_actions(name: str, before: RegionHealth | None, after: RegionHealth,
                      incidents: dict[str, OpenIncident], now: float) -> list[Action]:
    """Open on the first sick state, update on each change, resolve on healthy."""
    current = incidents.get(name)
    if after.state is Health.HEALTHY:
        if current is None:
            return []
        del incidents[name]
        took = now - current.opened_at
        return [Action(ActionKind.RESOLVE_INCIDENT, f"{name} healthy again after {took:.1f} s",
                       region=name, incident_id=current.incident_id, severity="resolved")]
    if current is None:
        incident_id = f"inc-{name}-{int(now * 1000)}"
        incidents[name] = OpenIncident(incident_id, name, after.state.value, now)
        return [Action(ActionKind.OPEN_INCIDENT, f"{name} {after.state}: {after.last_problem}",
                       region=name, incident_id=incident_id, severity=after.state.value)]
    if current.severity != after.state.value:
        incidents[name] = OpenIncident(current.incident_id, name, after.state.value,
                                       current.opened_at)
        why = "answering well again, on probation" if after.state is Health.RECOVERING \
            else after.last_problem
        return [Action(ActionKind.UPDATE_INCIDENT,
                       f"{name} {current.severity} -> {after.state}: {why}",
                       region=name, incident_id=current.incident_id,
                       severity=after.state.value)]
    return []


def _hook_actions(desired: DesiredState, name: str, before: RegionHealth | None,
                  after: RegionHealth) -> list[Action]:
    was_down = before is not None and before.state is Health.DOWN
    if after.state is not Health.DOWN or was_down:
        return []
    actions = []
    if desired.hooks.runbook_on_down:
        actions.append(Action(ActionKind.RUN_RUNBOOK, f"{name} down: run "
                              f"{desired.hooks.runbook_on_down}", region=name,
                              runbook=desired.hooks.runbook_on_down))
    if desired.hooks.db_failover_on_down:
        actions.append(Action(ActionKind.FAILOVER_DB, f"{name} down: promote its standby",
                              region=name))
    return actions


def _chaos_actions(desired: DesiredState, healths: Mapping[str, RegionHealth],
                   paused: bool, freeze: str) -> tuple[bool, list[Action]]:
    sick = sorted(n for n, h in healths.items() if h.state is not Health.HEALTHY)
    too_sick = len(sick) >= desired.hooks.chaos_pause_min_sick
    if not paused and (too_sick or freeze):
        reason = (f"{len(sick)} regions sick ({', '.join(sick)})" if too_sick
                  else f"SLO policy: {freeze}")
        return True, [Action(ActionKind.PAUSE_CHAOS, f"{reason}: pause chaos experiments")]
    if paused and not sick and not freeze:
        return False, [Action(ActionKind.RESUME_CHAOS, "all regions healthy and no SLO "
                              "freeze: resume chaos")]
    return paused, []


def _routes_reason(state: ReconcilerState, routes: RouteTable,
                   healths: Mapping[str, RegionHealth], epoch: int,
                   drained: Mapping[str, str]) -> str:
    if state.routes is None or state.leader_epoch != epoch:
        moved = routes.moved()
        summary = ", ".join(f"{h}->{t}" for h, t in sorted(moved.items())) or "all home"
        if state.leader_epoch == epoch:
            return f"the last apply failed: assert routes again ({summary})"
        return f"leadership epoch {epoch}: assert routes ({summary})"
    before, after = state.routes.as_dict(), routes.as_dict()
    parts = []
    for home in sorted(after):
        if before.get(home) == after[home]:
            continue
        target = routes.target(home)
        if target == home:
            parts.append(f"{home} healthy: its traffic back home")
        elif home in drained:
            parts.append(f"{home} drained ({drained[home]}): its traffic to {target}")
        elif not any(serving(h) for h in healths.values()):
            parts.append(f"{home}: no region healthy, fail open")
        else:
            parts.append(f"{home} {healths[home].state}: its traffic to {target} "
                         f"(nearest healthy)")
    return "; ".join(parts)
