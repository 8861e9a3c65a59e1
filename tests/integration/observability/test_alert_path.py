"""The alert path end to end, with the real binaries: a region answering 500s (its own fault
switch) burns its availability SLO; Prometheus (the generated configuration and SLO rules)
fires ``CoreApiAvailability`` (page); Alertmanager (the generated configuration, the stack's
``alertmanager`` key) notifies the control plane's webhook; the webhook starts
``error-budget-fast-burn`` for the region, for real: its first step, a PromQL check, goes
to the Prometheus the stack started (on port 0, with no ``prometheus_url`` set); the run is
in ``GET /v1/runs``, behind the region dashboard's "Runbook runs" link and on its "Runbook
runs" annotation (``covenant_runbook_runs_total``, status ``started``). Each hop is timed
(``bench.alert_path``, which ``covenant bench alert-path`` runs against ``covenant up
--with-prometheus``).

Shortened for the test: scrapes and rule evaluations every 1 s (``MonitoringOptions``; the
shipped ``--with-prometheus`` scrapes every 5 s). Not shortened, because they are generated
and not configurable: the page alert's ``for: 2m`` and the ``page`` route's ``group_wait:
10s``. So this test takes about three minutes.

The reconciler is kept from judging the region by its 5xx ratio (``health.min_requests``
out of reach) and SLO enforcement is off: otherwise its own ``budget_burn`` verdict starts
the same runbook within seconds and the alert, minutes later, only attaches to that run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from bench.alert_path import ALERT, RUNBOOK, AlertPath, Target, drive, rfc3339
from controlplane.desired import HealthPolicy, SloPolicy, StackPorts, default_desired
from covenant.local_keys import ADMIN_FILE, read_key
from covenant.monitoring import MonitoringOptions
from covenant.observability import dashboard_inputs
from covenant.stack import Stack
from dashboards.generate import rendered
from dashboards.prometheus import Prometheus, Window
from kernel.regions import REGION_CODES
from kernel.settings import Settings
from runbooks.dispatch import AlertNotice, Outcome
from tests.integration.dashboards.live import annotation_queries, variable_sets
from tests.waiting import eventually

PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)
REGIONS = ("syd", "sin")  # the faulted region and its nearest
FOR_S, GROUP_WAIT_S = 120.0, 10.0  # the page alert's `for`, the page route's group_wait
Seen = list[tuple[float, str, Mapping[str, str]]]


def timed_webhook(stack: Stack) -> Seen:
    """When the webhook hands each alert to the runbook dispatcher (wall clock)."""
    assert stack.runbooks is not None
    dispatcher = stack.runbooks.desk.dispatcher
    original, seen = dispatcher.on_alert, Seen()

    async def on_alert(alert: AlertNotice) -> list[Outcome]:
        seen.append((time.time(), alert.name, alert.labels))
        return await original(alert)

    dispatcher.on_alert = on_alert  # type: ignore[method-assign]
    return seen


def alert_stack(data_dir: Path) -> Stack:
    desired = default_desired(PORTS, health=HealthPolicy(min_requests=1_000_000_000),
                              slo=SloPolicy(enforce=False))
    desired = desired.model_copy(update={
        "regions": tuple(r for r in desired.regions if r.name in REGIONS)})
    # No prometheus_url: the runbook's PromQL check goes to the Prometheus started here.
    return Stack(desired, Settings(data_dir=data_dir), monitoring_options=MonitoringOptions(
        prometheus_port=0, alertmanager_port=0, scrape_interval="1s"))


def target(stack: Stack, key: str) -> Target:
    assert stack.monitoring is not None
    origin = next(r.origin for r in stack.desired.regions if r.name == "syd")
    assert origin is not None
    return Target(stack.front_door_url, origin, stack.api_url, stack.monitoring.prometheus.url,
                  stack.monitoring.alertmanager.url, key)


def check_hops(path: AlertPath) -> None:
    """Every hop seen, in order, each as long as the configuration says."""
    times = [path.fault_at, path.pending_at, path.firing_at, path.alertmanager_at,
             path.webhook_at, path.run_at, path.first_step_at]
    seen = [t for t in times if t is not None]
    assert len(seen) == len(times), path.figures()
    assert seen == sorted(seen), path.figures()
    assert path.pending_at is not None and path.firing_at is not None
    assert path.pending_at - path.fault_at < 15, "the burn took long to show"
    # `for: 2m` with 1 s evaluations; Alertmanager keeps startsAt to the millisecond
    assert FOR_S - 0.001 <= path.firing_at - path.pending_at < FOR_S + 5
    assert path.alertmanager_at is not None and path.webhook_at is not None
    assert GROUP_WAIT_S - 1 <= path.webhook_at - path.alertmanager_at < GROUP_WAIT_S + 5
    assert path.run_at is not None and path.run_at - path.webhook_at < 2


def check_run(path: AlertPath) -> None:
    run = path.run
    assert (run["runbook"], run["region"], run["actor"]) == (RUNBOOK, "syd",
                                                            f"alertmanager:{ALERT}")
    [trigger] = run["triggers"]  # alert:<fingerprint>@<startsAt, when Prometheus fired it>
    assert trigger.startswith("alert:")
    assert abs(rfc3339(trigger.rsplit("@", 1)[1]) - (path.firing_at or 0)) < 0.001
    assert run["steps"][0]["id"] == "burning" and run["steps"][0]["started_at"] is not None


async def check_promql_step(stack: Stack, key: str, path: AlertPath) -> None:
    """The run's first step, a PromQL check, was answered by the stack's own Prometheus: it
    saw the burn and succeeded (it would fail, unobserved, without a Prometheus)."""
    async def burning() -> bool:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=10,
                                     headers={"Authorization": f"Bearer {key}"}) as api:
            run = (await api.get(f"/v1/runs/{path.run['id']}")).json()
        step = run["steps"][0]
        assert step["status"] in ("running", "succeeded"), step
        return bool(step["status"] == "succeeded")

    await eventually(burning, "the PromQL check to see the burn", 90, interval=1)


async def check_dashboard(stack: Stack, key: str, path: AlertPath) -> None:
    """The region dashboard's run sources: its "Runbook runs (syd)" link lists the run, and
    its "Runbook runs" annotation shows this run's runbook starting."""
    syd = rendered(dashboard_inputs())["covenant-region-syd"]
    link = next(x["url"] for x in syd["links"] if x["title"] == "Runbook runs (syd)")
    query = link.split("/v1/runs", 1)[1]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10,
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        listed = (await api.get(f"/v1/runs{query}")).json()["runs"]
    assert path.run["id"] in [r["id"] for r in listed]
    [runs] = [q for q in annotation_queries(syd, variable_sets(syd, REGION_CODES)[0])
              if q.panel == "annotation Runbook runs"]
    assert stack.monitoring is not None
    assert not runs.pending

    def annotated() -> bool:
        window = Window(path.fault_at - 60, time.time(), 1.0)
        return any(s.labels.get("runbook") == RUNBOOK and s.labels.get("status") == "started"
                   and s.finite() for s in prom.query_range(runs.expr, window))

    with Prometheus(stack.monitoring.prometheus.url) as prom:
        await eventually(lambda: asyncio.to_thread(annotated), "the run as an annotation", 60,
                         interval=1)


@pytest.mark.timeout(600)
async def test_a_burning_region_starts_its_runbook_through_prometheus_and_alertmanager(
        tmp_path: Path) -> None:
    stack = alert_stack(tmp_path / "data")
    await stack.start()
    try:
        key = read_key(tmp_path / "data" / ADMIN_FILE)
        assert key is not None
        seen = timed_webhook(stack)
        path = await drive(target(stack, key), lambda: list(seen))
        figures = path.figures()
        (tmp_path / "alert-path.json").write_text(json.dumps(figures, indent=1))
        print(json.dumps(figures))  # the figures, for docs/benchmarks.md (pytest -s)
        check_hops(path)
        check_run(path)
        await check_promql_step(stack, key, path)
        await check_dashboard(stack, key, path)
    finally:
        await stack.stop()
