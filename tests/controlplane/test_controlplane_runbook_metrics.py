"""The runbook engine's metrics on the control plane's registry: runs started and ended,
steps failed (counted from a real executor's runs), webhook deliveries by outcome (through
the real webhook router), and every series a dashboard rates present at 0 beforehand."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from controlplane.alert_webhook import DELIVERY_OUTCOMES, PATH, webhook_router
from controlplane.runbook_metrics import ENDED, RUNS, STEP_FAILURES, WEBHOOK_DELIVERIES
from controlplane.runbook_metrics import RunbookMetrics as Metrics
from controlplane.runs_api import RunbookDesk
from runbooks.dispatch import AlertNotice, Dispatcher, Outcome
from runbooks.errors import JournalError
from runbooks.journal import RunStatus
from tests.runbooks.fakes import Rig, rig
from tests.runbooks.test_runbooks_executor import FAILOVER, GATED, failover_rig

REGIONS = ("syd", "iad")


def metered(r: Rig) -> tuple[Rig, CollectorRegistry]:
    registry = CollectorRegistry()
    r.observer = Metrics(registry, r.runbooks, REGIONS)
    return r, registry


def runs(registry: CollectorRegistry, runbook: str, region: str, status: str) -> float | None:
    return registry.get_sample_value(RUNS, {"runbook": runbook, "region": region,
                                            "status": status})


def test_the_series_dashboards_rate_exist_at_zero_from_the_start() -> None:
    """Prometheus sees no increase in a series born at 1: the started series of every
    runbook and region, every step's failures and every webhook outcome start at 0."""
    r, registry = metered(rig(FAILOVER, GATED))
    for runbook in ("failover", "gated"):
        for region in REGIONS:
            assert runs(registry, runbook, region, "started") == 0
            assert runs(registry, runbook, region, "succeeded") is None  # made at its start
    steps = [s.id for s in r.runbooks["failover"].steps]
    assert [registry.get_sample_value(STEP_FAILURES, {"runbook": "failover", "step": s})
            for s in steps] == [0] * len(steps)
    assert [registry.get_sample_value(WEBHOOK_DELIVERIES, {"outcome": o})
            for o in DELIVERY_OUTCOMES] == [0] * 4


async def test_runs_are_counted_when_they_start_and_when_they_end() -> None:
    r, registry = metered(failover_rig())
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.SUCCEEDED
    assert runs(registry, "failover", "syd", "started") == 1
    assert {s: runs(registry, "failover", "syd", s) for s in ENDED} == {
        "succeeded": 1, "failed": 0, "timed_out": 0, "cancelled": 0}
    await r.executor().drive(run.id)  # an ended run driven again is not counted again
    assert runs(registry, "failover", "syd", "succeeded") == 1
    assert runs(registry, "failover", "iad", "started") == 0


async def test_failed_steps_are_counted_by_runbook_and_step() -> None:
    r, registry = metered(failover_rig())
    r.scripts["db.failover"] = [RuntimeError("pg_promote refused")]
    run = await r.executor().start("failover", {"region": "syd"}, "test")
    assert run.status is RunStatus.FAILED
    failed = {s.id: registry.get_sample_value(STEP_FAILURES, {"runbook": "failover",
                                                              "step": s.id})
              for s in r.runbooks["failover"].steps}
    assert failed == {"down": 0, "drain": 0, "undo-drain": 0, "scale": 0, "undo-scale": 0,
                      "promoted": 0, "promote": 1, "healthy": 0}
    assert runs(registry, "failover", "syd", "failed") == 1


async def test_a_waiting_run_counts_as_started_until_it_is_closed() -> None:
    r, registry = metered(rig(GATED))
    run = await r.executor().start("gated", {"region": "iad"}, "test")
    assert run.status is RunStatus.WAITING
    assert runs(registry, "gated", "iad", "started") == 1
    assert sum(runs(registry, "gated", "iad", s) or 0 for s in ENDED) == 0
    await r.executor().resolve(run.id, "alert resolved")
    assert runs(registry, "gated", "iad", "cancelled") == 1


def _note(alertname: str = "NoRunbookForThis") -> bytes:
    return json.dumps({"version": "4", "groupKey": "{}", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": alertname, "region": "syd"},
         "startsAt": "2026-12-07T10:00:00Z", "fingerprint": "f1"}]}).encode()


async def test_webhook_deliveries_are_counted_by_outcome() -> None:
    r = rig(FAILOVER)
    registry = CollectorRegistry()
    metrics = Metrics(registry, r.runbooks, REGIONS)
    executor = r.executor()
    leading = [True]
    desk = RunbookDesk(r.runbooks, r.journal, executor,
                       Dispatcher(r.runbooks, executor, r.journal),
                       leading=lambda: leading[0])
    app = FastAPI()
    app.include_router(webhook_router(desk, metrics.delivered))

    def count(outcome: str) -> float | None:
        return registry.get_sample_value(WEBHOOK_DELIVERIES, {"outcome": outcome})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://cp.test") as client:
        assert (await client.post(PATH, content=_note())).status_code == 200
        assert (await client.post(PATH, content=_note())).status_code == 200
        assert (await client.post(PATH, content=b"{not json")).status_code == 400
        leading[0] = False
        assert (await client.post(PATH, content=_note())).status_code == 503
        leading[0] = True

        async def broken(alert: AlertNotice) -> list[Outcome]:
            raise JournalError("database is locked")

        desk.dispatcher.on_alert = broken  # type: ignore[method-assign]
        assert (await client.post(PATH, content=_note())).status_code == 503
    assert {o: count(o) for o in DELIVERY_OUTCOMES} == {
        "accepted": 2, "malformed": 1, "not_leader": 1, "journal_unavailable": 1}
