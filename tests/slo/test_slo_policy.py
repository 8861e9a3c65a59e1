"""The error-budget policy (pure), its minimum data, and its store (CLI: test_slo_cli.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from slo.budget import BudgetStatus, budget_status
from slo.policy import (
    MIN_ELAPSED_SHARE,
    MIN_EVENTS,
    DecisionKind,
    Incident,
    PolicyDecision,
    data_shortfall,
    deploys_frozen,
    evaluate,
    gate_verdict,
)
from slo.store import SloStore

NOW = 1_767_225_600.0
PERIOD = 30 * 86400.0
ENOUGH_S = MIN_ELAPSED_SHARE * PERIOD  # 14.4 h: the least observation the policy acts on


def _budget(slo_id: str, bad: float, total: float = 10000, service: str = "core-api",
            observed_s: float | None = None, objective: float = 0.999) -> BudgetStatus:
    return budget_status(slo_id, service, objective, NOW, NOW - PERIOD, bad, total,
                         period_s=PERIOD, observed_s=observed_s)


def _kinds(decisions: Sequence[PolicyDecision]) -> list[str]:
    return [d.kind.value for d in decisions]


@pytest.mark.parametrize(
    ("budgets", "incidents", "expected"),
    [
        ([_budget("a", 1)], [], ["allow_deploys", "allow_chaos"]),
        ([_budget("a", 1), _budget("b", 10)], [], ["freeze_deploys", "freeze_chaos"]),
        # no data is not exhausted; too little to judge
        ([_budget("a", 0, total=0)], [], ["insufficient_data", "allow_deploys", "allow_chaos"]),
        ([_budget("b", 11)], [Incident("i1", "core-api", "P0")],
         ["freeze_deploys", "freeze_chaos", "deploy_exception"]),
        ([_budget("b", 11)], [Incident("i2", "core-api", "P2", security=True)],
         ["freeze_deploys", "freeze_chaos", "deploy_exception"]),
        ([_budget("b", 11)], [Incident("i3", "core-api", "P1")],
         ["freeze_deploys", "freeze_chaos"]),
        ([_budget("b", 11)], [Incident("i4", "core-api", "P0", open=False)],
         ["freeze_deploys", "freeze_chaos"]),
        ([_budget("a", 1)], [Incident("i5", "core-api", budget_consumed={"a": 0.21, "b": 0.2})],
         ["allow_deploys", "allow_chaos", "postmortem_required"]),
    ],
)
def test_policy_table(budgets: list[BudgetStatus], incidents: list[Incident],
                      expected: list[str]) -> None:
    decisions = evaluate(budgets, incidents, NOW)
    assert _kinds(decisions) == expected
    assert all(d.at == NOW and d.reason for d in decisions)


# 99.9% objective: 10 bad of 10,000 events is exactly the budget (exhausted), 5 is half of it.
FREEZE_KINDS = ["freeze_deploys", "freeze_chaos"]
ALLOW_KINDS = ["allow_deploys", "allow_chaos"]


@pytest.mark.parametrize(("budgets", "expected"), [
    # events below / at the minimum, elapsed enough, exhausted
    ([_budget("a", 10, total=MIN_EVENTS - 1, observed_s=ENOUGH_S)],
     ["insufficient_data", *ALLOW_KINDS]),
    ([_budget("a", 10, total=MIN_EVENTS, observed_s=ENOUGH_S)], FREEZE_KINDS),
    # elapsed below / at the minimum, events enough, exhausted
    ([_budget("a", 10, observed_s=ENOUGH_S - 1)], ["insufficient_data", *ALLOW_KINDS]),
    ([_budget("a", 10, observed_s=ENOUGH_S)], FREEZE_KINDS),
    ([_budget("a", 10, observed_s=PERIOD)], FREEZE_KINDS),
    # both below, exhausted: the observed bug (4 requests, 45 s, -4900% left)
    ([_budget("latency-sfo", 2, total=4, observed_s=45, objective=0.99)],
     ["insufficient_data", *ALLOW_KINDS]),
    # not exhausted: below the minimum still says so, above it allows
    ([_budget("a", 0, total=10, observed_s=45)], ["insufficient_data", *ALLOW_KINDS]),
    ([_budget("a", 5, observed_s=ENOUGH_S)], ALLOW_KINDS),
    # observation unknown (period_s/observed_s not given): the whole period counts
    ([budget_status("a", "core-api", 0.999, NOW, NOW - PERIOD, 10, 10000)], FREEZE_KINDS),
    # one budget too young, another exhausted on enough data: the freeze names only that one
    ([_budget("young", 50, total=100, observed_s=60), _budget("old", 10, observed_s=PERIOD)],
     ["insufficient_data", *FREEZE_KINDS]),
])
def test_policy_acts_only_on_enough_data(budgets: list[BudgetStatus],
                                         expected: list[str]) -> None:
    decisions = evaluate(budgets, [], NOW)
    assert _kinds(decisions) == expected
    unjudged = {d.slo_id for d in decisions if d.kind is DecisionKind.INSUFFICIENT_DATA}
    assert unjudged == {b.slo_id for b in budgets if data_shortfall(b)}
    assert all(s not in d.reason for d in decisions if d.kind.value.startswith("freeze")
               for s in unjudged)


@pytest.mark.parametrize(("total", "observed_s", "says"), [
    (999, ENOUGH_S, "999 events of the 1,000 needed"),
    (10000, 45, "0.00% of the period observed of the 2.00% needed"),
    (4, 45, "4 events of the 1,000 needed and 0.00% of the period observed"),
    (1000, ENOUGH_S, ""),
])
def test_data_shortfall_names_what_is_missing(total: float, observed_s: float,
                                              says: str) -> None:
    why = data_shortfall(_budget("a", 0, total=total, observed_s=observed_s))
    assert (says in why) if says else why == ""


def test_minimums_are_parameters() -> None:
    young = [_budget("a", 2, total=4, observed_s=45, objective=0.99)]
    assert _kinds(evaluate(young, [], NOW, min_events=0, min_elapsed_share=0)) == FREEZE_KINDS
    assert _kinds(evaluate(young, [], NOW, min_events=4, min_elapsed_share=45 / PERIOD)
                  ) == FREEZE_KINDS
    assert _kinds(evaluate(young, [], NOW, min_events=5, min_elapsed_share=0))[0] == (
        "insufficient_data")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_events": -1}, "min_events must be a finite number >= 0, got -1"),
    ({"min_events": float("nan")}, "min_events must be a finite number >= 0, got nan"),
    ({"min_elapsed_share": 1.5}, "min_elapsed_share must be within [0, 1], got 1.5"),
])
def test_bad_minimums_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate([], [], NOW, **kwargs)


def test_no_exception_without_a_freeze_on_young_data() -> None:
    """A P0 incident on a budget the policy does not judge yet: no freeze, no exception."""
    decisions = evaluate([_budget("a", 50, total=100, observed_s=60)],
                         [Incident("i1", "core-api", "P0")], NOW)
    assert _kinds(decisions) == ["insufficient_data", *ALLOW_KINDS]
    assert "1 of 1 have insufficient data" in decisions[1].reason


def test_policy_per_service_and_reason() -> None:
    decisions = evaluate([_budget("a", 50), _budget("x", 0, service="other")], [], NOW)
    assert deploys_frozen(decisions, "core-api") and not deploys_frozen(decisions, "other")
    assert "a (-400.0% left)" in decisions[0].reason
    pm = evaluate([], [Incident("i9", "core-api", budget_consumed={"a": 0.5})], NOW)[-1]
    assert pm.kind is DecisionKind.POSTMORTEM_REQUIRED and "50.0%" in pm.reason


def test_store_records_every_decision(tmp_path: Path) -> None:
    store = SloStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.record_decisions(evaluate([_budget("a", 20)], [], NOW))
    store.record_decisions(evaluate([_budget("a", 1)], [], NOW + 60))
    store.record_budgets([_budget("a", 1)])
    all_decisions = store.decisions("core-api")
    assert _kinds(all_decisions) == [
        "freeze_deploys", "freeze_chaos", "allow_deploys", "allow_chaos"]
    assert not deploys_frozen(all_decisions, "core-api")
    assert [r.slo_id for r in store.latest_budgets()] == ["a"]
    store.close()


def test_budget_cycle_records_budgets_and_decisions(tmp_path: Path) -> None:
    from kernel.exposition import Sample
    from slo.cycle import budget_cycle
    from slo.spec import default_spec_path, load_group
    from slo.tracker import BudgetTracker

    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    labels = {"region": "ams", "route": "/a", "method": "GET"}
    day = 86400.0  # a day of a 30-day period: past the policy's minimum share (2%)
    for i, (ok, err) in enumerate([(0, 0), (1000, 50)]):
        tracker.ingest("ams", [Sample("http_requests_total", {**labels, "status": "200"}, ok),
                               Sample("http_requests_total", {**labels, "status": "500"}, err)],
                       NOW + day * i)
    store = SloStore(f"sqlite:///{tmp_path / 'state.db'}")
    res = budget_cycle(tracker, store, [], NOW + day)
    verdicts = [d for d in res.decisions if d.kind is not DecisionKind.INSUFFICIENT_DATA]
    assert _kinds(verdicts) == ["freeze_deploys", "freeze_chaos"]
    assert "core-api-availability-ams" in verdicts[0].reason
    # Only ams (and the global SLOs) saw traffic: the other regions' budgets are not judged.
    assert "core-api-availability-iad" in {d.slo_id for d in res.decisions
                                           if d.kind is DecisionKind.INSUFFICIENT_DATA}
    assert len(store.latest_budgets()) == 15 and deploys_frozen(store.decisions(), "core-api")
    store.close()


def test_a_freshly_started_tracker_freezes_nothing() -> None:
    """The observed bug: 45 s after `covenant up` a few slow first requests read as
    "core-api-latency-sfo (-4900.0% left)" and paused chaos."""
    from kernel.exposition import Sample
    from slo.cycle import budget_cycle
    from slo.spec import default_spec_path, load_group
    from slo.tracker import BudgetTracker

    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    base = {"region": "sfo", "route": "/a", "method": "GET"}
    for i, (fast, total) in enumerate([(0, 0), (2, 4)]):  # 2 of 4 requests slower than 0.1 s
        tracker.ingest("sfo", [
            Sample("http_request_duration_seconds_bucket", {**base, "le": "0.1"}, fast),
            Sample("http_request_duration_seconds_bucket", {**base, "le": "+Inf"}, total),
        ], NOW + 45 * i)
    res = budget_cycle(tracker, None, [], NOW + 45)
    sfo = next(b for b in res.budgets if b.slo_id == "core-api-latency-sfo")
    assert sfo.exhausted and f"{sfo.remaining:.1%}" == "-4900.0%"
    assert (sfo.observed_s, sfo.period_s) == (45.0, PERIOD)
    kinds = {d.kind for d in res.decisions}
    assert not kinds & {DecisionKind.FREEZE_CHAOS, DecisionKind.FREEZE_DEPLOYS}
    unjudged = next(d for d in res.decisions if d.slo_id == "core-api-latency-sfo")
    assert unjudged.kind is DecisionKind.INSUFFICIENT_DATA
    assert "4 events of the 1,000 needed" in unjudged.reason
    # The same budget a day on, with enough requests, is judged and freezes.
    later = budget_cycle(tracker, None, [], NOW + 86400, min_events=4)
    assert DecisionKind.FREEZE_CHAOS in {d.kind for d in later.decisions}


FREEZE = PolicyDecision(DecisionKind.FREEZE_DEPLOYS, "core-api", "budget exhausted", 1.0)
ALLOW = PolicyDecision(DecisionKind.ALLOW_DEPLOYS, "core-api", "budget back", 2.0)
OTHER = PolicyDecision(DecisionKind.FREEZE_DEPLOYS, "other", "other's budget", 3.0)


@pytest.mark.parametrize(("decisions", "priority", "security", "allowed", "says"), [
    ([], "", False, True, "core-api: deploys allowed"),
    ([FREEZE], "", False, False, "frozen by the error-budget policy: budget exhausted"),
    ([FREEZE], "p0", False, True, "allowed as a P0 fix"),
    ([FREEZE], "P2", True, True, "allowed as a security fix"),
    ([FREEZE, ALLOW], "", False, True, "core-api: deploys allowed"),
    ([FREEZE, OTHER], "", False, False, "budget exhausted"),  # another service's freeze
])
def test_gate_verdict(decisions: list[PolicyDecision], priority: str, security: bool,
                      allowed: bool, says: str) -> None:
    ok, why = gate_verdict(decisions, "core-api", priority, security)
    assert ok is allowed and says in why
