"""SLO policy and anomaly detector wired into decide() as optional inputs."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path

import httpx

from controlplane.anomalies import AnomalySignals
from controlplane.assembly import build_control_plane
from controlplane.decide import ActionKind, Inputs, ReconcilerState, decide
from controlplane.desired import (
    AnomalyPolicy,
    HealthPolicy,
    ProbePolicy,
    SloPolicy,
    default_desired,
)
from controlplane.fakes import fake_regions
from controlplane.health import Health
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.signals import (
    RECORD_EVERY_S,
    RECORD_KEEP_S,
    CombinedSignals,
    MinimumData,
    Signals,
    SloBudgetSignals,
    SloPolicySignals,
    StaticSignals,
)
from covenant.wiring import signals_for
from kernel.settings import Settings

NAMES = default_desired().region_names()


def _obs(latency: float, now: float) -> dict[str, RegionObservation]:
    return {n: RegionObservation(n, now, ProbeStatus.UP, latency if n == "sin" else 0.02,
                                 10, 0, True) for n in NAMES}


def _budget(service: str, remaining: float, region: str) -> object:
    from slo.budget import BudgetStatus

    return BudgetStatus(slo_id=f"{service}-availability", service=service, objective=0.999,
                        at=0.0, period_start=0.0, total=1000.0, bad=2.0, sli=0.998,
                        error_ratio=0.002, consumed=1 - remaining, remaining=remaining,
                        burn_rate=2.0, region=region)


def test_slo_policy_reports_exhausted_budget_and_chaos_freeze() -> None:
    budgets = [_budget("core-api", 0.0, "syd"), _budget("core-api", 0.5, "ams"),
               _budget("core-api", 0.0, "")]  # a global SLO: policy only, no region
    source = SloPolicySignals(lambda: budgets)  # type: ignore[arg-type,return-value]
    s = source.signals({}, 10.0)
    assert list(s.slo_breaches) == ["syd"]
    assert "error budget exhausted" in s.slo_breaches["syd"]
    assert s.chaos_freeze.startswith("error budget exhausted")


def test_chaos_freeze_pauses_chaos_only_when_enforced() -> None:
    inputs = Inputs(chaos_freeze="error budget exhausted: x")
    idle = decide(default_desired(slo=SloPolicy(enforce=False)), _obs(0.02, 0),
                  ReconcilerState(), 0, inputs)
    assert ActionKind.PAUSE_CHAOS not in {a.kind for a in idle.actions}
    enforcing = default_desired(slo=SloPolicy(enforce=True))
    d = decide(enforcing, _obs(0.02, 0), ReconcilerState(), 0, inputs)
    pause = [a for a in d.actions if a.kind is ActionKind.PAUSE_CHAOS]
    assert pause and pause[0].reason.startswith("SLO policy: error budget exhausted")
    d2 = decide(enforcing, _obs(0.02, 1), d.state, 1, Inputs())
    assert [a.kind for a in d2.actions] == [ActionKind.RESUME_CHAOS]


def test_sustained_latency_anomaly_degrades_the_region_when_enabled() -> None:
    from anomaly.detector import AnomalyDetector

    source = AnomalySignals(AnomalyDetector(), min_points=3)
    desired = default_desired(anomaly=AnomalyPolicy(treat_sustained_as_bad=True))
    state = ReconcilerState()
    flagged_at = None
    seen: set[tuple[str, Health]] = set()
    noise = random.Random(4)
    # Steady ~20 ms, then a shift to ~250 ms: below the 400 ms slow threshold, so only the
    # detector can see it.
    for i in range(260):
        latency = (20 if i < 200 else 250) / 1000 + noise.gauss(0, 0.0015)
        obs = _obs(latency, float(i))
        signals = source.signals(obs, float(i))
        source.detector.refit_due()  # what the background refitter does between passes
        if flagged_at is None and "sin" in signals.anomalies:
            flagged_at = i
        state = decide(desired, obs, state, float(i), Inputs(anomalies=signals.anomalies)).state
        seen |= {(n, h.state) for n, h in state.regions.items()}
    assert flagged_at is not None and flagged_at >= 200
    assert ("sin", Health.DEGRADED) in seen
    assert all(h is Health.HEALTHY for n, h in seen if n != "sin")


def test_combined_sources_merge() -> None:
    merged = CombinedSignals(
        StaticSignals(Signals(slo_breaches={"ams": "a"})),
        StaticSignals(Signals(anomalies={"iad": "b"}, chaos_freeze="f")),
    ).signals({}, 0.0)
    assert (dict(merged.slo_breaches), dict(merged.anomalies), merged.chaos_freeze) == (
        {"ams": "a"}, {"iad": "b"}, "f")


async def test_live_slo_budgets_from_scrapes_degrade_a_region(tmp_path: Path) -> None:
    """Probes stay green; only the SLO budget (fed from /metrics) can see the 5xx."""
    policies = {"probe": ProbePolicy(interval_s=0.1, timeout_s=0.5, scrape_timeout_s=0.5),
                "health": HealthPolicy(error_ratio=1.0, min_dwell_s=0.2),
                "slo": SloPolicy(enforce=True)}
    async with fake_regions(**policies) as (desired, fakes, servers), \
            httpx.AsyncClient() as client:
        # A test minute is not 2% of a month: let the policy act on what it has.
        signals, on_scrape, _ = signals_for(True, False, minimums=MinimumData(1, 0.0))
        plane = build_control_plane(desired, Settings(data_dir=tmp_path), signals=signals,
                                    on_scrape=on_scrape)
        try:
            fakes["syd"].mode = "api_errors"
            deadline = time.monotonic() + 15
            while plane.reconciler.state.regions.get("syd", None) is None or \
                    plane.reconciler.state.regions["syd"].state is Health.HEALTHY:
                assert time.monotonic() < deadline, "syd never degraded"
                await client.get(servers["syd"].url + "/v1/countries/AUS")
                decision = await plane.reconciler.run_once()
            syd = next(v for v in decision.verdicts if v.region == "syd")
            assert "SLO policy: core-api-availability-syd error budget exhausted" in syd.line
            assert ActionKind.PAUSE_CHAOS in {a.kind for a in decision.actions} or \
                plane.reconciler.state.chaos_paused
            assert all(h.state is Health.HEALTHY for n, h in
                       plane.reconciler.state.regions.items() if n != "syd")
        finally:
            await plane.close()


def test_signals_for_wires_only_what_is_switched_on() -> None:
    assert signals_for(False, False) == (None, None, None)
    source, hook, feed = signals_for(False, True)
    assert isinstance(source, CombinedSignals) and hook is None and feed is None
    source, hook, feed = signals_for(True, False)
    assert source is not None and hook is not None and feed is None
    # With Prometheus the budgets are fed by queries, not by the observer's scrapes.
    source, hook, feed = signals_for(True, False, prometheus_url="http://127.0.0.1:9")
    assert source is not None and hook is None and feed is not None


class _Tracker:
    """Stands in for ``BudgetTracker``: the same budgets whatever is ingested."""

    def __init__(self, remaining: float) -> None:
        self.remaining = remaining

    def ingest(self, region: str, samples: object, now: float) -> None:
        pass

    def status(self, now: float) -> list[object]:
        return [replace(_budget("core-api", self.remaining, "syd"), at=now)]  # type: ignore[type-var]


async def test_budgets_and_verdicts_are_recorded_for_the_deploy_gate(tmp_path: Path) -> None:
    """With slo.enforce the control plane writes what `covenant slo gate` reads: a snapshot
    a minute, in a worker thread, old rows pruned."""
    from slo.policy import gate_verdict
    from slo.store import SloStore

    store = SloStore(f"sqlite:///{tmp_path / 'state.db'}")
    tracker = _Tracker(remaining=0.0)
    source = SloBudgetSignals(tracker, store.record)
    try:
        source.signals({}, 1000.0)
        first = source.recording
        assert first is not None
        await first
        assert gate_verdict(store.decisions("core-api"), "core-api")[0] is False
        assert [r.remaining for r in store.latest_budgets()] == [0.0]
        source.signals({}, 1000.0 + RECORD_EVERY_S - 1)  # within the minute: nothing new
        assert source.recording is first
        tracker.remaining = 0.5  # the budget is back
        later = 1000.0 + RECORD_KEEP_S + 1  # the first snapshot is now past keeping
        source.signals({}, later)
        assert source.recording is not None and source.recording is not first
        await source.recording
        assert gate_verdict(store.decisions("core-api"), "core-api")[0] is True
        assert {d.at for d in store.decisions()} == {later}
        assert [(r.at, r.remaining) for r in store.latest_budgets()] == [(later, 0.5)]
    finally:
        store.close()


async def test_an_open_incident_that_spent_a_fifth_of_a_budget_requires_a_postmortem(
        tmp_path: Path) -> None:
    """The live path hands the reconciler's incidents to the policy: syd's incident opened
    when 10% of the budget was spent; a minute later 45% is, so it consumed 35% (> 20%)."""
    from controlplane.decide import OpenIncident
    from controlplane.signals import incident_windows
    from slo.policy import DecisionKind
    from slo.store import SloStore

    store = SloStore(f"sqlite:///{tmp_path / 'state.db'}")
    tracker = _Tracker(remaining=0.9)
    open_now: list[OpenIncident] = []
    source = SloBudgetSignals(tracker, store.record, lambda: incident_windows(open_now))
    try:
        source.signals({}, 1000.0)  # the snapshot before the incident
        assert source.recording is not None
        await source.recording
        open_now.append(OpenIncident("inc-syd-1", "syd", "down", 1000.0))
        tracker.remaining = 0.55
        source.signals({}, 1000.0 + RECORD_EVERY_S)
        assert source.recording is not None
        await source.recording
        postmortems = [d for d in store.decisions()
                       if d.kind is DecisionKind.POSTMORTEM_REQUIRED]
        assert [(d.incident_id, d.slo_id) for d in postmortems] == [
            ("inc-syd-1", "core-api-availability")]
        assert "consumed 35.0%" in postmortems[0].reason
    finally:
        store.close()


def test_incident_windows_rank_a_region_down_p1_and_degraded_p2() -> None:
    from controlplane.decide import OpenIncident
    from controlplane.signals import incident_windows

    windows = incident_windows([OpenIncident("a", "syd", "down", 1.0),
                                OpenIncident("b", "ams", "degraded", 2.0)])
    assert [(w.id, w.region, w.priority, w.opened_at, w.resolved_at) for w in windows] == [
        ("a", "syd", "P1", 1.0, None), ("b", "ams", "P2", 2.0, None)]
