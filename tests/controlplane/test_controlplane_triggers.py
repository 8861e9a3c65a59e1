"""Which verdicts start runbooks (pure), driven through the real decide() so a change to
the health machine's problem lines breaks here, and route overrides (drained regions)."""

from __future__ import annotations

import pytest

from controlplane.decide import ActionKind, Inputs, ReconcilerState, decide
from controlplane.desired import HealthPolicy, SloPolicy, default_desired
from controlplane.health import Health, RegionHealth
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.triggers import RunbookTrigger, runbook_verdict, standing_triggers

POLICY = HealthPolicy(degrade_after=2, down_after=3, recover_after=3, min_dwell_s=3.0)
DESIRED = default_desired(health=POLICY, slo=SloPolicy(enforce=False))
NAMES = DESIRED.region_names()


def _obs(region: str, code: str, at: float) -> RegionObservation:
    return {
        "g": RegionObservation(region, at, ProbeStatus.UP, 0.01, 100, 0, True),
        "s": RegionObservation(region, at, ProbeStatus.UP, 0.6, 100, 0, True),
        "e": RegionObservation(region, at, ProbeStatus.UP, 0.01, 100, 40, True),
        "n": RegionObservation(region, at, ProbeStatus.NOT_READY, 0.01, 0, 0, True, "503"),
        "u": RegionObservation(region, at, ProbeStatus.UNREACHABLE, None, 0, 0, False,
                               "connection refused"),
    }[code]


def cycles(codes: str, inputs: Inputs | None = None) -> list[tuple[RunbookTrigger, ...]]:
    """syd sees ``codes`` (one cycle a second), the others good: each cycle's triggers."""
    state, out = ReconcilerState(), []
    for i, code in enumerate(codes):
        obs = {n: _obs(n, code if n == "syd" else "g", 100.0 + i) for n in NAMES}
        decision = decide(DESIRED, obs, state, 100.0 + i, inputs)
        state = decision.state
        out.append(decision.triggers)
    return out


@pytest.mark.parametrize(("codes", "verdict"), [
    ("gg", None),          # healthy
    ("s", None),           # one bad cycle: still healthy
    ("ss", "latency"),     # degraded by slowness
    ("ee", "budget_burn"),  # degraded by 5xx over the error ratio
    ("nn", None),          # degraded, only not ready: an incident, no runbook
    ("uu", None),          # degraded by unreachable: not down yet
    ("uuu", "region_down"),
    ("uuuu", "region_down"),
])
def test_a_standing_verdict_per_region_state(codes: str, verdict: str | None) -> None:
    last = cycles(codes)[-1]
    assert [t.verdict for t in last] == ([verdict] if verdict else [])
    if verdict:
        assert last[0].region == "syd" and "syd" in last[0].reason


def test_a_verdict_keeps_its_since_while_it_stands_so_its_key_repeats() -> None:
    seen = [t for c in cycles("uuuuuu") for t in c]
    assert {t.key for t in seen} == {"verdict:region_down:syd:102"}


def test_an_slo_breach_is_a_budget_burn() -> None:
    desired = default_desired(health=POLICY, slo=SloPolicy(enforce=True))
    state = ReconcilerState()
    inputs = Inputs(slo_breaches={"syd": "core-api-availability-syd budget exhausted"})
    for i in range(2):
        obs = {n: _obs(n, "g", 100.0 + i) for n in NAMES}
        decision = decide(desired, obs, state, 100.0 + i, inputs)
        state = decision.state
    assert [t.verdict for t in decision.triggers] == ["budget_burn"]


@pytest.mark.parametrize(("health", "verdict"), [
    (RegionHealth(Health.HEALTHY), None),
    (RegionHealth(Health.RECOVERING, last_problem="slow: probe took 600 ms"), None),
    (RegionHealth(Health.DEGRADED, last_problem="sustained anomaly: latency"), None),
    (RegionHealth(Health.DEGRADED, last_problem="SLO policy: exhausted"), "budget_burn"),
    (RegionHealth(Health.DOWN, last_problem="slow: probe took 600 ms"), "region_down"),
])
def test_runbook_verdict(health: RegionHealth, verdict: str | None) -> None:
    assert runbook_verdict(health) == verdict
    assert len(standing_triggers({"syd": health})) == (1 if verdict else 0)


def test_a_drained_region_loses_its_traffic_whatever_its_health() -> None:
    obs = {n: _obs(n, "g", 100.0) for n in NAMES}
    first = decide(DESIRED, obs, ReconcilerState(), 100.0)
    drained = decide(DESIRED, obs, first.state, 101.0, Inputs(drained={"syd": "runbook x"}))
    assert drained.state.routes is not None and drained.state.routes.target("syd") == "sin"
    [routes] = [a for a in drained.actions if a.kind is ActionKind.SET_ROUTES]
    assert "syd drained (runbook x): its traffic to sin" in routes.reason
    assert not [a for a in drained.actions if a.kind is ActionKind.OPEN_INCIDENT]
    back = decide(DESIRED, obs, drained.state, 102.0)
    assert back.state.routes is not None and back.state.routes.target("syd") == "syd"
