"""Live budgets: direct scrapes vs a real Prometheus scraping the same exporters.

Two tiny exporters (one per region, ephemeral ports) serve counters that the test steps
forward, including a counter reset. A real Prometheus (tmp storage, ephemeral port) scrapes
them every second and also loads the generated rules. After each step the test waits until
Prometheus has the new values, scrapes directly at the same instant, and later replays
Prometheus' view of those instants through PrometheusSource: both BudgetTrackers must agree.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slo.metrics_source import PrometheusSource, ScrapeSource
from slo.spec import default_spec_path, load_group
from slo.tracker import BudgetTracker
from tests.integration.promstack import exporter
from tests.integration.promstack import prometheus as real_prometheus
from tests.waiting import wait_until

REGIONS = ("ams", "iad")
# (ok, err, fast, up) per step and region; step 3 restarts ams (its counters drop).
STEPS = [
    {"ams": (100, 0, 95, 1), "iad": (50, 0, 50, 1)},
    {"ams": (1100, 2, 1080, 1), "iad": (550, 1, 540, 1)},
    {"ams": (2100, 9, 2000, 0), "iad": (1050, 1, 1040, 1)},
    {"ams": (300, 1, 290, 1), "iad": (1550, 4, 1530, 0)},
    {"ams": (1300, 3, 1250, 1), "iad": (2050, 4, 2030, 1)},
]


class _State:
    def __init__(self) -> None:
        self.step = 0


def _exposition(region: str, ok: int, err: int, fast: int, up: int) -> str:
    base = f'region="{region}",route="/api",method="GET"'
    return (
        "# TYPE http_requests_total counter\n"
        f'http_requests_total{{{base},status="200"}} {ok}\n'
        f'http_requests_total{{{base},status="500"}} {err}\n'
        "# TYPE http_request_duration_seconds histogram\n"
        f'http_request_duration_seconds_bucket{{{base},le="0.001"}} 0\n'
        f'http_request_duration_seconds_bucket{{{base},le="0.1"}} {fast}\n'
        f'http_request_duration_seconds_bucket{{{base},le="+Inf"}} {ok + err}\n'
        f"http_request_duration_seconds_count{{{base}}} {ok + err}\n"
        f"http_request_duration_seconds_sum{{{base}}} 1.5\n"
        "# TYPE covenant_region_up gauge\n"
        f'covenant_region_up{{region="{region}"}} {up}\n'
    )


@pytest.fixture()
def prometheus(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], _State]]:
    state = _State()
    servers = {r: exporter(lambda r=r: _exposition(r, *STEPS[state.step][r])) for r in REGIONS}
    targets = {r: f"http://127.0.0.1:{s.server_address[1]}/metrics" for r, s in servers.items()}
    with real_prometheus(tmp_path, servers) as url:
        yield url, targets, state


def test_direct_scrape_and_prometheus_give_the_same_budget(
        prometheus: tuple[str, dict[str, str], _State]) -> None:
    url, targets, state = prometheus
    slos = load_group(default_spec_path()).slos
    direct, via_prom = BudgetTracker(slos), BudgetTracker(slos)
    scrape, prom = ScrapeSource(targets), PrometheusSource(url)
    try:
        _compare(direct, via_prom, scrape, prom, state)
        _rules_evaluate(url, prom)
    finally:
        scrape.close()
        prom.close()


def _compare(direct: BudgetTracker, via_prom: BudgetTracker, scrape: ScrapeSource,
             prom: PrometheusSource, state: _State) -> None:
    instants: list[float] = []
    for i, step in enumerate(STEPS):
        state.step = i

        def seen(i: int = i, step: dict[str, tuple[int, int, int, int]] = step) -> bool:
            got = {s.labels["region"]: s.value for s in prom.query(
                'http_requests_total{status="200"}')}
            return all(got.get(r) == step[r][0] for r in REGIONS)
        wait_until(seen, f"Prometheus to scrape step {i}", timeout=30, interval=0.1)
        now = time.time()
        instants.append(now)
        direct.collect(scrape, REGIONS, now)
    for now in instants:  # Prometheus' view of the same instants
        for region in REGIONS:
            via_prom.ingest(region, prom.collect(region, at=now), now)
    end = instants[-1]
    a = {s.slo_id: s for s in direct.status(end)}
    b = {s.slo_id: s for s in via_prom.status(end)}
    assert a.keys() == b.keys()
    for slo_id, sa in a.items():
        sb = b[slo_id]
        assert (sa.bad, sa.total, sa.remaining, sa.burn_rate) == (
            sb.bad, sb.total, sb.remaining, sb.burn_rate), slo_id
    ams = a["core-api-availability-ams"]
    # increases with the restart at step 3: ok 1000+1000+300+1000, err 2+7+1+2
    assert (ams.total, ams.bad) == (3300 + 12, 12) and ams.exhausted
    assert a["core-api-uptime-global"].bad == 2 and a["core-api-uptime-global"].total == 10


def _rules_evaluate(url: str, prom: PrometheusSource) -> None:
    """The generated rules load and evaluate in the real Prometheus."""
    rules = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert len(rules) == 45 and all(r["health"] != "err" for g in rules for r in g["rules"])

    def recorded() -> bool:
        return len(prom.query("slo:objective:ratio")) == 15
    wait_until(recorded, "the metadata records", timeout=30, interval=0.1)
    objectives = {s.labels["sloth_slo"]: s.value for s in prom.query("slo:objective:ratio")}
    # Like Sloth: objective / 100 printed with %g (99.99 / 100 is 0.9998999999999999).
    assert objectives["availability-ams"] == 0.9995 and objectives["uptime-global"] == 99.99 / 100
