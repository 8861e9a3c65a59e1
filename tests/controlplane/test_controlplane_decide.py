"""Table-driven tests of the pure decision function and its health state machine."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from controlplane.decide import ActionKind, Decision, Inputs, ReconcilerState, decide
from controlplane.desired import HealthPolicy, HookPolicy, SloPolicy, default_desired
from controlplane.health import Health
from controlplane.observation import ProbeStatus, RegionObservation

POLICY = HealthPolicy(degrade_after=2, down_after=3, recover_after=3, min_dwell_s=3.0)
DESIRED = default_desired(health=POLICY, slo=SloPolicy(enforce=False))  # SLOs: own tests
NAMES = DESIRED.region_names()

# One-letter codes for a region's cycle: good, slow, erroring, not ready, unreachable.
def _obs(region: str, code: str, at: float) -> RegionObservation:
    if code == "g":
        return RegionObservation(region, at, ProbeStatus.UP, 0.01, 100, 0, True)
    if code == "s":
        return RegionObservation(region, at, ProbeStatus.UP, 0.6, 100, 0, True)
    if code == "e":
        return RegionObservation(region, at, ProbeStatus.UP, 0.01, 100, 40, True)
    if code == "n":
        return RegionObservation(region, at, ProbeStatus.NOT_READY, 0.01, 0, 0, True,
                                 "/ready said 503")
    return RegionObservation(region, at, ProbeStatus.UNREACHABLE, None, 0, 0, False,
                             "connection refused")


def run(codes: str, region: str = "syd", state: ReconcilerState | None = None,
        start: float = 100.0, inputs: Inputs | None = None) -> list[Decision]:
    """Feed ``codes`` for ``region`` (others good), one cycle per second."""
    state = state or ReconcilerState()
    out = []
    for i, code in enumerate(codes):
        now = start + i
        obs = {n: _obs(n, code if n == region else "g", now) for n in NAMES}
        d = decide(DESIRED, obs, state, now, inputs)
        state = d.state
        out.append(d)
    return out


def states(decisions: Sequence[Decision], region: str = "syd") -> str:
    letter = {Health.HEALTHY: "H", Health.DEGRADED: "D", Health.DOWN: "X",
              Health.RECOVERING: "R"}
    return "".join(letter[d.state.regions[region].state] for d in decisions)


@pytest.mark.parametrize(("codes", "expected"), [
    ("gggg", "HHHH"),                       # steady
    ("ug", "HH"),                           # one blip does not degrade
    ("uu", "HD"),                           # healthy -> degraded after 2 bad cycles
    ("ss", "HD"),                           # slow counts as bad
    ("ee", "HD"),                           # erroring counts as bad
    ("nn", "HD"),                           # not ready counts as bad
    ("uuu", "HDX"),                         # degraded -> down after 3 unreachable
    ("sssss", "HDDDD"),                     # slow never makes it down
    ("uuugggggg", "HDXXXRRRH"),             # down -> recovering after dwell -> healthy
    ("ssgggggg", "HDDDRRRH"),               # degraded -> recovering only after min dwell
    ("uuugggu", "HDXXXRX"),                 # recovering -> down on unreachable
    ("uuuggges", "HDXXXRDD"),               # recovering -> degraded on bad
])
def test_every_transition(codes: str, expected: str) -> None:
    assert states(run(codes)) == expected


def test_flapping_region_does_not_make_routing_oscillate() -> None:
    decisions = run("uug" * 8)
    route_sets = [a for d in decisions for a in d.actions if a.kind is ActionKind.SET_ROUTES]
    # The first assert (leadership) and the one move away; never back while it flaps.
    assert len(route_sets) == 2
    assert route_sets[1].routes is not None and route_sets[1].routes.target("syd") == "sin"
    assert all(d.state.regions["syd"].state is not Health.HEALTHY for d in decisions[2:])


def test_sick_region_traffic_goes_to_nearest_healthy_and_returns() -> None:
    decisions = run("uu" + "g" * 8)
    moves = [a for d in decisions for a in d.actions if a.kind is ActionKind.SET_ROUTES][1:]
    assert [m.routes.target("syd") for m in moves if m.routes] == ["sin", "syd"]
    assert "syd degraded: its traffic to sin (nearest healthy)" in moves[0].reason
    assert "syd healthy: its traffic back home" in moves[1].reason


def test_nearest_skips_sick_neighbours() -> None:
    state = ReconcilerState()
    for i in range(2):
        obs = {n: _obs(n, "u" if n in ("syd", "sin") else "g", float(i)) for n in NAMES}
        state = decide(DESIRED, obs, state, float(i)).state
    assert state.routes is not None
    assert state.routes.target("syd") not in ("syd", "sin")
    assert state.routes.target("sin") not in ("syd", "sin")


def test_incident_opens_updates_and_resolves_with_reasons() -> None:
    decisions = run("uuu" + "g" * 6)
    incident_actions = [(a.kind, a.severity) for d in decisions for a in d.actions
                        if a.kind.value.endswith("incident")]
    assert incident_actions == [
        (ActionKind.OPEN_INCIDENT, "degraded"), (ActionKind.UPDATE_INCIDENT, "down"),
        (ActionKind.UPDATE_INCIDENT, "recovering"), (ActionKind.RESOLVE_INCIDENT, "resolved")]
    ids = {a.incident_id for d in decisions for a in d.actions if a.incident_id}
    assert len(ids) == 1
    assert all(a.reason and "\n" not in a.reason for d in decisions for a in d.actions)


def test_all_regions_down_fails_open_and_opens_six_incidents() -> None:
    state = ReconcilerState()
    for i in range(3):
        obs = {n: _obs(n, "u", float(i)) for n in NAMES}
        d = decide(DESIRED, obs, state, float(i))
        state = d.state
    assert state.routes is not None and state.routes.moved() == {}
    assert set(state.incidents) == set(NAMES)
    assert all(s.state is Health.DOWN for s in state.regions.values())


def test_standby_observes_but_never_acts_then_new_leader_asserts_routes() -> None:
    standby = run("uu", inputs=Inputs(leader=False))
    assert all(d.actions == () for d in standby)
    assert standby[-1].state.regions["syd"].state is Health.DEGRADED
    taken = run("u", state=standby[-1].state, start=102, inputs=Inputs(leader_epoch=7))
    kinds = [a.kind for a in taken[0].actions]
    assert kinds[0] is ActionKind.SET_ROUTES and ActionKind.OPEN_INCIDENT in kinds
    assert "leadership epoch 7" in taken[0].actions[0].reason


def test_leader_change_reasserts_unchanged_routes() -> None:
    first = run("gg", inputs=Inputs(leader_epoch=1))
    again = run("g", state=first[-1].state, start=102, inputs=Inputs(leader_epoch=1))
    assert again[0].actions == ()
    other = run("g", state=first[-1].state, start=102, inputs=Inputs(leader_epoch=2))
    assert [a.kind for a in other[0].actions] == [ActionKind.SET_ROUTES]


def test_hooks_fire_once_on_entering_down() -> None:
    desired = default_desired(health=POLICY, hooks=HookPolicy(
        runbook_on_down="region-evacuate", db_failover_on_down=True, chaos_pause_min_sick=1))
    state = ReconcilerState()
    kinds: list[ActionKind] = []
    for i, code in enumerate("uuuuu" + "g" * 7):
        obs = {n: _obs(n, code if n == "syd" else "g", float(i)) for n in NAMES}
        d = decide(desired, obs, state, float(i))
        state = d.state
        kinds += [a.kind for a in d.actions]
    assert kinds.count(ActionKind.RUN_RUNBOOK) == 1
    assert kinds.count(ActionKind.FAILOVER_DB) == 1
    assert kinds.count(ActionKind.PAUSE_CHAOS) == 1
    assert kinds.count(ActionKind.RESUME_CHAOS) == 1


def test_hooks_are_noops_by_default() -> None:
    kinds = {a.kind for d in run("uuuuu") for a in d.actions}
    assert not kinds & {ActionKind.RUN_RUNBOOK, ActionKind.FAILOVER_DB}


def test_slo_breach_counts_only_when_enforced() -> None:
    inputs = Inputs(slo_breaches={"syd": "error budget exhausted"})
    assert states(run("ggg", inputs=inputs)) == "HHH"
    enforcing = default_desired(health=POLICY, slo=SloPolicy(enforce=True))
    state = ReconcilerState()
    for i in range(2):
        obs = {n: _obs(n, "g", float(i)) for n in NAMES}
        d = decide(enforcing, obs, state, float(i), inputs)
        state = d.state
    assert state.regions["syd"].state is Health.DEGRADED
    assert "SLO policy: error budget exhausted" in d.verdicts[NAMES.index("syd")].line


def test_error_ratio_ignored_below_min_requests() -> None:
    few = RegionObservation("syd", 0, ProbeStatus.UP, 0.01, 3, 3, True)
    state = ReconcilerState()
    for i in range(3):
        obs = {n: few if n == "syd" else _obs(n, "g", i) for n in NAMES}
        state = decide(DESIRED, obs, state, float(i)).state
    assert state.regions["syd"].state is Health.HEALTHY


def test_missing_observation_counts_as_unreachable() -> None:
    state = ReconcilerState()
    for i in range(3):
        obs = {n: _obs(n, "g", i) for n in NAMES if n != "jnb"}
        d = decide(DESIRED, obs, state, float(i))
        state = d.state
    assert state.regions["jnb"].state is Health.DOWN
    assert "no observation" in d.verdicts[-1].line


def test_verdicts_one_per_region_one_line() -> None:
    d = run("uu")[-1]
    assert [v.region for v in d.verdicts] == list(NAMES)
    syd = d.verdicts[NAMES.index("syd")]
    assert syd.changed and syd.line.startswith("syd healthy -> degraded: connection refused")
