"""The error-budget policy (pure), its store, and the `slo gate` / `slo status` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from controlplane.cli import app
from slo.budget import BudgetStatus, budget_status
from slo.policy import (
    DecisionKind,
    Incident,
    PolicyDecision,
    deploys_frozen,
    evaluate,
    gate_verdict,
)
from slo.store import SloStore

NOW = 1_767_225_600.0


def _budget(slo_id: str, bad: float, total: float = 10000,
            service: str = "core-api") -> BudgetStatus:
    return budget_status(slo_id, service, 0.999, NOW, NOW - 30 * 86400, bad, total)


def _kinds(decisions: list[object]) -> list[str]:
    return [d.kind.value for d in decisions]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("budgets", "incidents", "expected"),
    [
        ([_budget("a", 1)], [], ["allow_deploys", "allow_chaos"]),
        ([_budget("a", 1), _budget("b", 10)], [], ["freeze_deploys", "freeze_chaos"]),
        ([_budget("a", 0, total=0)], [], ["allow_deploys", "allow_chaos"]),  # no data != exhausted
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


def test_gate_and_status_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("COVENANT_STATE_URL", url)
    runner = CliRunner()
    assert runner.invoke(app, ["slo", "gate", "--service", "core-api"]).exit_code == 0
    store = SloStore(url)
    store.record_budgets([_budget("core-api-availability-ams", 20)])
    store.record_decisions(evaluate([_budget("core-api-availability-ams", 20)], [], NOW))
    frozen = runner.invoke(app, ["slo", "gate", "--service", "core-api"])
    assert frozen.exit_code == 1 and "frozen" in frozen.output
    assert runner.invoke(app, ["slo", "gate", "--service", "core-api", "--priority", "P0"]
                         ).exit_code == 0
    assert runner.invoke(app, ["slo", "gate", "--service", "core-api", "--security"]).exit_code == 0
    assert runner.invoke(app, ["slo", "gate", "--service", "other"]).exit_code == 0
    status = runner.invoke(app, ["slo", "status"])
    assert status.exit_code == 0 and "core-api-availability-ams" in status.output
    assert "freeze_deploys" in status.output
    store.record_decisions(evaluate([_budget("core-api-availability-ams", 1)], [], NOW + 60))
    store.close()
    assert runner.invoke(app, ["slo", "gate", "--service", "core-api"]).exit_code == 0


def test_budget_cycle_records_budgets_and_decisions(tmp_path: Path) -> None:
    from slo.cycle import budget_cycle
    from slo.metrics_source import Sample
    from slo.spec import default_spec_path, load_group
    from slo.tracker import BudgetTracker

    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    labels = {"region": "ams", "route": "/a", "method": "GET"}
    for i, (ok, err) in enumerate([(0, 0), (1000, 50)]):
        tracker.ingest("ams", [Sample("http_requests_total", {**labels, "status": "200"}, ok),
                               Sample("http_requests_total", {**labels, "status": "500"}, err)],
                       NOW + 60 * i)
    store = SloStore(f"sqlite:///{tmp_path / 'state.db'}")
    res = budget_cycle(tracker, store, [], NOW + 60)
    assert _kinds(list(res.decisions)) == ["freeze_deploys", "freeze_chaos"]
    assert "core-api-availability-ams" in res.decisions[0].reason
    assert len(store.latest_budgets()) == 15 and deploys_frozen(store.decisions(), "core-api")
    store.close()


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
