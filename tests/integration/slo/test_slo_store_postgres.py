"""The SLO store on PostgreSQL (production state store): decisions and budgets round-trip."""

from __future__ import annotations

from slo.budget import budget_status
from slo.policy import DecisionKind, Incident, deploys_frozen, evaluate
from slo.store import SloStore

NOW = 1_767_225_600.0


def test_store_on_postgres(postgres_url: str) -> None:
    store = SloStore(postgres_url)
    exhausted = budget_status("core-api-a", "core-api", 0.999, NOW, NOW - 86400, 20, 10000)
    store.record_decisions(evaluate([exhausted], [Incident("p", "core-api", "P0")], NOW))
    store.record_budgets([exhausted])
    decisions = store.decisions("core-api")
    assert [d.kind for d in decisions] == [DecisionKind.FREEZE_DEPLOYS, DecisionKind.FREEZE_CHAOS,
                                           DecisionKind.DEPLOY_EXCEPTION]
    assert deploys_frozen(decisions, "core-api") and decisions[-1].incident_id == "p"
    (row,) = store.latest_budgets()
    assert row.slo_id == "core-api-a" and row.remaining == exhausted.remaining
    store.close()
