"""Every panel of every dashboard, proven against a real Prometheus scraping the real stack.

``covenant up --with-prometheus`` on ephemeral ports (six region APIs, the front door, the
control plane, Prometheus every second with the SLO rules, Alertmanager), a warm anomaly
history, traffic through the front door for every home region, syd made to answer 503 until
it is degraded and rerouted. Then every panel query of every dashboard runs
through Prometheus's HTTP API with its template variables set: each returns data (the
runbook engine's too: one Alertmanager-style delivery to the webhook makes its rate real),
except panels marked pending (none today), which must return none. The stack's Prometheus
port is 0 (any free one), and PromQL checks are still wired to it: the alert's runbook,
whose first step is a PromQL check, is runnable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from controlplane.desired import StackPorts, default_desired
from core_api.contract import CHAOS_FAULT_PATH
from covenant.local_keys import ADMIN_FILE, ALERTMANAGER_FILE, read_key
from covenant.monitoring import MonitoringOptions
from covenant.observability import dashboard_inputs
from covenant.stack import Stack
from dashboards.generate import rendered
from dashboards.preview import render
from dashboards.prometheus import Prometheus, Window
from kernel.regions import REGION_CODES
from kernel.settings import Settings
from tests.dashboards.walk import alerts, links
from tests.integration.dashboards.live import (
    PanelQuery,
    annotation_queries,
    has_data,
    home_countries,
    panel_queries,
    seed_history,
    traffic,
    variable_sets,
)
from tests.waiting import eventually

PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)
MONITORING = MonitoringOptions(prometheus_port=0, alertmanager_port=0, scrape_interval="1s")


async def _until_prometheus_has(prom: Prometheus, expr: str, what: str,
                                timeout: float = 30) -> None:
    await eventually(lambda: asyncio.to_thread(
        lambda: any(s.finite() for s in prom.query(expr, time.time()))),
        what, timeout, interval=0.5)


async def _burst(front_door: str, region: str, n: int = 20) -> list[int]:
    """``n`` concurrent reads and ``n`` writes of ``region``'s home through the front door."""
    iso3 = home_countries()[region]
    async with httpx.AsyncClient(base_url=front_door, timeout=10,
                                 headers={"x-covenant-region": region}) as client:
        reads = [client.get(f"/v1/countries/{iso3}") for _ in range(n)]
        writes = [client.post("/v1/users", json={"name": "Burst", "country": iso3,
                                                 "email": f"burst{i}@example.org"})
                  for i in range(n)]
        return [r.status_code for r in await asyncio.gather(*reads, *writes)]


async def _syd_fails(stack: Stack, prom: Prometheus) -> None:
    """syd's API answers 503 to everything but /live and /metrics (its own fault switch: a
    runbook pausing chaos lifts the proxies' faults, never this one). A burst of syd reads
    at once, before the reconciler can notice, is retried elsewhere by the front door; once
    syd is degraded and rerouted, syd-owned writes are refused with the front door's own
    503. Lifted once Prometheus has seen all of it."""
    syd = next(r for r in stack.regions if r.region == "syd")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{syd.port}") as origin:
        (await origin.put(CHAOS_FAULT_PATH, json={"error_rate": 1.0, "status": 503})
         ).raise_for_status()
        await _burst(stack.front_door_url, "syd")
        await _until_prometheus_has(prom, 'covenant_region_state{region="syd"} > 0',
                                    "syd's incident in Prometheus")
        await _until_prometheus_has(prom, 'covenant_frontdoor_requests_total{home="syd", '
                                    'served="sin"}', "syd's traffic served by sin")
        assert 503 in await _burst(stack.front_door_url, "syd", 5)
        for counter in ('covenant_frontdoor_retries_total{home="syd"}',
                        'covenant_frontdoor_unavailable_total{home="syd"}',
                        'http_requests_total{region="syd", status="503"}'):
            # a rate, not the bare series: the panels' rate() needs two samples of it
            await _until_prometheus_has(prom, f"rate({counter}[1m])", counter)
        (await origin.delete(CHAOS_FAULT_PATH)).raise_for_status()


async def _until_data(prom: Prometheus, queries: list[PanelQuery], started: float) -> list[str]:
    """Re-run the queries still without data (a counter's rate needs two scrapes of it)
    until none is left or 30 s pass; returns those still empty."""
    left = set(queries)

    async def all_have_data() -> bool:
        window = Window(started, time.time(), 1.0)
        left.difference_update(await asyncio.to_thread(
            lambda: {q for q in left if has_data(prom, q, window)}))
        return not left

    with contextlib.suppress(AssertionError):  # the caller names what stayed empty
        await eventually(all_have_data, "every panel query to return data", 30, interval=1)
    return sorted(str(q) for q in left)


async def _prove_every_panel(stack: Stack, prom: Prometheus, started: float,
                             tmp_path: Path) -> None:
    await _until_prometheus_has(prom, "slo:sli_error:ratio_rate5m", "SLO records", 60)
    slos = len(dashboard_inputs().slos)
    await eventually(lambda: set(_slo_records(prom).values()) == {slos},
                     f"every Sloth record for all {slos} SLOs", 30, interval=0.5)
    await _syd_fails(stack, prom)
    await _deliver_an_alert(stack)
    await _until_prometheus_has(prom, 'ALERTS{sloth_service="core-api"}', "an SLO alert")
    await _until_prometheus_has(prom, 'rate(covenant_webhook_deliveries_total'
                                '{outcome="accepted"}[1m]) > 0', "the webhook delivery")
    await _until_prometheus_has(prom, 'covenant_anomaly_band_upper{region="syd", '
                                'metric="traffic_rps"}', "fitted anomaly bands", 60)
    every = rendered(dashboard_inputs())
    queries = [q for d in every.values() for values in variable_sets(d, REGION_CODES)
               for q in panel_queries(d, values)]
    empty = await _until_data(prom, [q for q in queries if not q.pending], started)
    assert not empty, f"{len(empty)} panel queries returned no data:\n" + "\n".join(empty)
    window = Window(started, time.time(), 1.0)
    grown = [str(q) for q in queries if q.pending and has_data(prom, q, window)]
    assert not grown, ("pending panels now have data; take them off dashboards.metrics."
                       "PENDING:\n" + "\n".join(grown))
    assert {q.dashboard for q in queries} == set(every)
    assert sum(q.pending for q in queries) == 0
    runbook_panels = {"Runbook runs", "Runbook step failures", "Webhook deliveries"}
    assert runbook_panels <= {q.panel for q in queries if q.dashboard == "covenant-controlplane"}
    syd = every["covenant-region-syd"]
    incidents = [q for q in annotation_queries(syd, variable_sets(syd, REGION_CODES)[0])
                 if q.panel == "annotation Incidents"]
    assert incidents and all(has_data(prom, q, window) for q in incidents)
    for uid in ("covenant-overview", "covenant-region-syd"):
        shown = await asyncio.to_thread(render, every[uid], prom, window, tmp_path / "preview")
        assert 20_000 < shown.dashboard.stat().st_size < 300_000


async def _deliver_an_alert(stack: Stack) -> None:
    """One notification to the runbook webhook as Alertmanager sends it (its key), for an
    alert no runbook answers: counted as accepted, nothing started."""
    key = read_key(Path(stack.settings.data_dir) / ALERTMANAGER_FILE)
    note = {"version": "4", "groupKey": "{}", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "DashboardsLiveTest", "region": "syd"},
         "startsAt": "2026-12-07T10:00:00Z", "fingerprint": "live"}]}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10,
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        answer = await api.post("/v1/alerts/alertmanager", json=note)
    assert answer.status_code == 200, answer.text


async def _promql_checks_wired(stack: Stack) -> None:
    """Prometheus on port 0 here: its port was fixed before the runbooks were wired, so the
    alert's runbook (its first step a PromQL check) runs for real, not as a dry run."""
    key = read_key(Path(stack.settings.data_dir) / ADMIN_FILE)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10,
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        books = {b["id"]: b for b in (await api.get("/v1/runbooks")).json()}
    burn = books["error-budget-fast-burn"]
    assert burn["runnable"] and not burn["blocked"], burn
    assert stack.settings.prometheus_url is None  # not from the settings: from the stack


def _slo_records(prom: Prometheus) -> dict[str, int]:
    """How many SLOs each Sloth record has a finite value for now."""
    records = ("slo:sli_error:ratio_rate5m", "slo:objective:ratio", "slo:error_budget:ratio",
               "slo:current_burn_rate:ratio", "slo:period_error_budget_remaining:ratio")
    return {r: sum(1 for s in prom.query(r, time.time()) if s.finite()) for r in records}


async def _links_answer(stack: Stack, every: dict[str, dict[str, object]]) -> None:
    """Every control-plane link on the dashboards and every alert's runbook_url answers 200
    from the running control plane (with the stack's local admin key)."""
    base = dashboard_inputs().control_plane_url
    paths = {u.removeprefix(base) for d in every.values() for u in links(d)
             if u.startswith(base)}
    # The spec's runbook_url host is a placeholder; the path is the control plane's page.
    paths |= {urlsplit(a["annotations"]["runbook_url"]).path for a in alerts()}
    key = read_key(Path(stack.settings.data_dir) / ADMIN_FILE)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10,
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        answers = {p: (await api.get(p)).status_code for p in sorted(paths)}
    assert len(answers) >= 8 and set(answers.values()) == {200}, answers


async def test_every_panel_query_returns_data(tmp_path: Path) -> None:
    started = time.time()
    seed_history(tmp_path / "data", started)
    stack = Stack(default_desired(PORTS), Settings(data_dir=tmp_path / "data"),
                  monitoring_options=MONITORING)
    await stack.start()
    stop, counts = asyncio.Event(), dict[str, int]()
    load = asyncio.create_task(traffic(stack.front_door_url, stop, counts))
    try:
        assert stack.monitoring is not None
        with Prometheus(stack.monitoring.prometheus.url) as prom:
            await _prove_every_panel(stack, prom, started, tmp_path)
        await _links_answer(stack, rendered(dashboard_inputs()))
        await _promql_checks_wired(stack)
    finally:
        stop.set()
        await load
        await stack.stop()
    assert counts.get("200", 0) > 100 and counts.get("201", 0) > 10, counts
