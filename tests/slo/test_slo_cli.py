"""`covenant slo gate` and `covenant slo status` over a temporary SQLite state store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from slo.budget import BudgetStatus, budget_status
from slo.cli import register
from slo.policy import MIN_ELAPSED_SHARE, DecisionKind, PolicyDecision, evaluate
from slo.store import SloStore

NOW = 1_767_225_600.0
PERIOD = 30 * 86400.0
SVC = "core-api"


def _budget(slo_id: str, bad: float, total: float = 10000, service: str = SVC,
            observed_s: float = PERIOD, at: float = NOW) -> BudgetStatus:
    """A 99.9% budget: 10 bad events of 10,000 exhaust it."""
    return budget_status(slo_id, service, 0.999, at, at - PERIOD, bad, total,
                         period_s=PERIOD, observed_s=observed_s)


EXHAUSTED = _budget("core-api-availability-ams", 20)
HEALTHY = _budget("core-api-availability-iad", 1)
YOUNG = _budget("core-api-latency-sfo", 2, total=4, observed_s=45)  # -19,900% left, 4 events
OTHER_EXHAUSTED = _budget("other-availability", 20, service="other")


def _app() -> typer.Typer:
    app, bench = typer.Typer(), typer.Typer()
    register(app, bench)
    return app


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SloStore]:
    """The state store the commands read (COVENANT_STATE_URL), empty."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("COVENANT_STATE_URL", url)
    s = SloStore(url)
    yield s
    s.close()


def _cycle(store: SloStore, budgets: list[BudgetStatus], at: float = NOW) -> None:
    """One recorded control-plane cycle: the budgets and the policy's verdicts on them."""
    store.record(budgets, evaluate(budgets, [], at))


def _run(*args: str) -> Result:
    return CliRunner().invoke(_app(), ["slo", *args])


@pytest.mark.parametrize(("cycles", "flags", "code", "says"), [
    ([], [], 0, "core-api: deploys allowed"),
    ([[HEALTHY]], [], 0, "core-api: deploys allowed"),
    ([[EXHAUSTED, HEALTHY]], [], 1,
     "deploys frozen by the error-budget policy: error budget exhausted: "
     "core-api-availability-ams"),
    ([[EXHAUSTED]], ["--priority", "P1"], 1, "frozen by the error-budget policy"),
    ([[EXHAUSTED]], ["--priority", "P0"], 0,
     "deploys frozen (error budget exhausted: core-api-availability-ams (-100.0% left)); "
     "allowed as a P0 fix"),
    ([[EXHAUSTED]], ["--priority", "p0"], 0, "allowed as a P0 fix"),
    ([[EXHAUSTED]], ["--security"], 0,
     "error budget exhausted: core-api-availability-ams (-100.0% left)); allowed as a "
     "security fix"),
    ([[EXHAUSTED]], ["--priority", "P2", "--security"], 0, "allowed as a security fix"),
    ([[OTHER_EXHAUSTED]], [], 0, "core-api: deploys allowed"),  # another service's freeze
    ([[EXHAUSTED], [HEALTHY]], [], 0, "core-api: deploys allowed"),  # the latest verdict
    ([[HEALTHY], [EXHAUSTED]], [], 1, "frozen"),
    ([[YOUNG]], [], 0, "core-api: deploys allowed"),  # too little data never freezes
])
def test_gate(store: SloStore, cycles: list[list[BudgetStatus]], flags: list[str], code: int,
              says: str) -> None:
    for i, budgets in enumerate(cycles):
        _cycle(store, budgets, NOW + 60 * i)
    res = _run("gate", "--service", SVC, *flags)
    assert res.exit_code == code
    assert says in (res.stderr if code else res.stdout)


def test_gate_reads_only_its_service(store: SloStore) -> None:
    """A freeze of core-api stays the verdict however many newer verdicts other services got
    (the gate would miss it if it read the newest decisions of every service)."""
    _cycle(store, [EXHAUSTED])
    store.record_decisions([PolicyDecision(DecisionKind.ALLOW_DEPLOYS, f"svc-{i}", "fine",
                                           NOW + 1 + i) for i in range(1500)])
    assert _run("gate", "--service", SVC).exit_code == 1
    assert _run("gate", "--service", "svc-7").exit_code == 0


def test_gate_without_a_readable_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVENANT_STATE_URL", "no-such-dialect://x")
    res = _run("gate", "--service", SVC)
    assert res.exit_code == 2
    assert "cannot read the error-budget policy's records" in res.stderr
    assert "COVENANT_STATE_URL" in res.stderr


def test_status_marks_budgets_without_enough_data(store: SloStore) -> None:
    _cycle(store, [EXHAUSTED, YOUNG])
    res = _run("status")
    assert res.exit_code == 0
    lines = {line.split()[0]: line for line in res.stdout.splitlines() if line.strip()}
    assert "insufficient data" in lines["core-api-latency-sfo"]
    assert "budget left" not in lines["core-api-latency-sfo"]
    assert "%  burn" not in lines["core-api-latency-sfo"]
    assert "budget left -100.0%" in lines["core-api-availability-ams"]
    assert "insufficient data" not in lines["core-api-availability-ams"]
    policy = [line for line in res.stdout.splitlines() if line.startswith("policy:")]
    assert policy and all("insufficient_data" not in line for line in policy)
    assert any("freeze_deploys" in line for line in policy)


def test_status_marks_only_the_latest_snapshot(store: SloStore) -> None:
    """Too little data a minute after start, enough a day later: the mark goes away."""
    young = _budget("core-api-availability-ams", 2, total=4, observed_s=60)
    grown = _budget("core-api-availability-ams", 3, observed_s=86400, at=NOW + 86400)
    assert grown.elapsed_share > MIN_ELAPSED_SHARE
    _cycle(store, [young])
    first = json.loads(_run("status", "--json").stdout)
    assert [b["insufficient_data"] for b in first["budgets"]] == [True]
    _cycle(store, [grown], NOW + 86400)
    ams = next(line for line in _run("status").stdout.splitlines()
               if line.startswith("core-api-availability-ams"))
    assert "insufficient data" not in ams and "budget left   70.0%" in ams
    later = json.loads(_run("status", "--json").stdout)
    assert [(b["slo"], b["insufficient_data"]) for b in later["budgets"]] == [
        ("core-api-availability-ams", False)]


def test_status_without_records(store: SloStore) -> None:
    res = _run("status")
    assert res.exit_code == 0 and "no budgets recorded yet" in res.stdout
