"""COVENANT_PROMETHEUS_URL: the control plane's live SLO path fed by Prometheus gives the
same budgets and the same policy verdicts as the same path fed by its own scrapes.

Two exporters stand in for region APIs (every GET answers 200 with their exposition, so the
observer's probes pass). The test steps their counters forward, including a counter reset;
a real Prometheus scrapes them every second. After each step, once Prometheus has the new
values, the real ``Observer`` scrapes (feeding one ``SloBudgetSignals`` through its
``on_scrape`` hook) and a ``PrometheusFeed`` queries Prometheus (feeding another); both then
run the same pass at the same instant.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from controlplane.desired import Region, default_desired
from controlplane.observe import Observer
from controlplane.signals import PrometheusFeed, SloBudgetSignals
from slo.metrics_source import PrometheusSource
from slo.policy import evaluate
from tests.integration.promstack import exporter, prometheus
from tests.waiting import eventually

REGIONS = ("ams", "iad")
# (ok, err, fast) per step and region; step 3 restarts ams (its counters drop).
STEPS = [
    {"ams": (100, 0, 95), "iad": (50, 0, 50)},
    {"ams": (1100, 2, 1080), "iad": (550, 1, 540)},
    {"ams": (2100, 9, 2000), "iad": (1050, 1, 1040)},
    {"ams": (300, 1, 290), "iad": (1550, 4, 1530)},
    {"ams": (1300, 3, 1250), "iad": (2050, 4, 2030)},
]


def _exposition(region: str, ok: int, err: int, fast: int) -> str:
    base = f'region="{region}",route="/v1/countries/{{iso3}}",method="GET"'
    return (
        "# TYPE http_requests_total counter\n"
        f'http_requests_total{{{base},status="200"}} {ok}\n'
        f'http_requests_total{{{base},status="500"}} {err}\n'
        "# TYPE http_request_duration_seconds histogram\n"
        f'http_request_duration_seconds_bucket{{{base},status="200",le="0.1"}} {fast}\n'
        f'http_request_duration_seconds_bucket{{{base},status="200",le="+Inf"}} {ok + err}\n'
        f'http_request_duration_seconds_count{{{base},status="200"}} {ok + err}\n')


async def test_prometheus_and_own_scrapes_give_the_same_budgets_and_verdicts(
        tmp_path: Path) -> None:
    step = [0]
    servers = {r: exporter(lambda r=r: _exposition(r, *STEPS[step[0]][r])) for r in REGIONS}
    base = default_desired()
    desired = base.model_copy(update={"regions": tuple(
        Region(name=r.name, latitude=r.latitude, longitude=r.longitude,
               endpoint=f"http://127.0.0.1:{servers[r.name].server_address[1]}")
        for r in base.regions if r.name in REGIONS)})
    scraped, queried = SloBudgetSignals.default(), SloBudgetSignals.default()
    with prometheus(tmp_path, servers) as url:
        source = PrometheusSource(url)
        observer = Observer(desired, httpx.AsyncHTTPTransport(), on_scrape=scraped.feed)
        feed = PrometheusFeed(source, REGIONS, queried)
        try:
            for i, values in enumerate(STEPS):
                step[0] = i
                await _until_prometheus_has(source, values)
                observations = await observer.observe()
                assert all(o.status.value == "up" for o in observations.values())
                await feed.poll()
                now = time.time()
                a = scraped.signals(observations, now)
                b = queried.signals(observations, now)
                assert a == b, f"step {i}"
        finally:
            source.close()
    assert feed.failures == 0 and queried.fed == scraped.fed == 2 * len(STEPS)
    budgets_a = {b.slo_id: b for b in scraped._status()}  # noqa: SLF001 - the result itself
    budgets_b = {b.slo_id: b for b in queried._status()}  # noqa: SLF001
    assert budgets_a.keys() == budgets_b.keys()
    for slo_id, x in budgets_a.items():
        y = budgets_b[slo_id]
        assert (x.bad, x.total, x.remaining, x.burn_rate) == (
            y.bad, y.total, y.remaining, y.burn_rate), slo_id
    ams = budgets_a["core-api-availability-ams"]
    # increases with the restart at step 3: ok 1000+1000+300+1000, err 2+7+1+2
    assert (ams.total, ams.bad) == (3300 + 12, 12) and ams.exhausted
    end = max(b.at for b in budgets_a.values())
    assert evaluate(list(budgets_a.values()), [], end) == evaluate(list(budgets_b.values()),
                                                                    [], end)


async def _until_prometheus_has(source: PrometheusSource,
                                values: dict[str, tuple[int, int, int]]) -> None:
    async def has() -> bool:
        got = {s.labels["region"]: s.value for s in await asyncio.to_thread(
            source.query, 'http_requests_total{status="200"}')}
        return all(got.get(r) == values[r][0] for r in REGIONS)
    await eventually(has, f"Prometheus to scrape {values}", timeout=30, interval=0.1)
