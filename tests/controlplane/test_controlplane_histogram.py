"""Users' p99 from the scraped duration histogram: parsing, interval deltas, PromQL's
histogram_quantile interpolation, and the observer wiring it into each observation."""

from __future__ import annotations

import math

import httpx
import pytest
from prometheus_client import generate_latest

from controlplane.desired import ProbePolicy, default_desired
from controlplane.histogram import bucket_counts, bucket_deltas, quantile
from controlplane.observe import Observer, scrape_samples
from core_api.metrics import ApiMetrics

INF = math.inf


def test_quantile_interpolates_like_histogram_quantile() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, INF: 100.0}
    assert quantile(0.99, buckets) == pytest.approx(0.5 + 0.5 * 9 / 10)  # rank 99 of 100
    assert quantile(0.5, buckets) == pytest.approx(0.1)  # rank 50: the top of bucket 0.1
    assert quantile(0.25, buckets) == pytest.approx(0.05)  # from 0 inside the first bucket


def test_quantile_edges() -> None:
    assert quantile(0.99, {0.1: 0.0, INF: 0.0}) is None  # no observations
    assert quantile(0.99, {}) is None
    assert quantile(0.99, {0.1: 5.0}) is None  # no +Inf bucket: not a histogram
    assert quantile(0.99, {0.1: 1.0, 0.5: 1.0, INF: 10.0}) == 0.5  # rank in +Inf: top bound


def test_buckets_sum_user_routes_of_the_core_api_exposition() -> None:
    metrics = ApiMetrics("ams")
    for seconds in (0.003, 0.004, 0.2):
        metrics.observe("/v1/countries/{iso3}", "GET", 200, seconds)
    metrics.observe("/v1/projects", "GET", 200, 0.02)
    for _ in range(50):  # probes: fast, numerous, and not what users were served
        metrics.observe("/ready", "GET", 200, 0.0005)
    buckets = bucket_counts(scrape_samples(generate_latest(metrics.registry).decode()))
    assert buckets[INF] == 4.0
    assert buckets[0.005] == 2.0 and buckets[0.001] == 0.0
    p99 = quantile(0.99, buckets)
    assert p99 is not None and 0.1 < p99 <= 0.25  # the 0.2 s request's bucket


def test_deltas_are_the_interval_and_a_reset_counts_from_zero() -> None:
    first = {0.1: 10.0, INF: 12.0}
    assert bucket_deltas(first, None) == {}
    assert bucket_deltas({0.1: 15.0, INF: 20.0}, first) == {0.1: 5.0, INF: 8.0}
    assert bucket_deltas({0.1: 1.0, INF: 1.0}, first) == {0.1: 1.0, INF: 1.0}


def _exposition(fast: int, slow: int) -> str:
    metrics = ApiMetrics("ams")
    for _ in range(fast):
        metrics.observe("/v1/countries/{iso3}", "GET", 200, 0.004)
    for _ in range(slow):
        metrics.observe("/v1/countries/{iso3}", "GET", 200, 0.9)
    return generate_latest(metrics.registry).decode()


async def test_the_observer_reports_the_p99_of_each_interval() -> None:
    desired = default_desired(probe=ProbePolicy(timeout_s=0.5, scrape_timeout_s=0.5))
    served = {"fast": 0, "slow": 0}

    async def region(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metrics":
            return httpx.Response(200, text=_exposition(served["fast"], served["slow"]))
        return httpx.Response(200, json={"ok": True})

    observer = Observer(desired, httpx.MockTransport(region))
    first = await observer.observe()
    served["fast"] = 200
    second = await observer.observe()
    served["slow"] = 10  # this interval: only the 10 slow requests
    third = await observer.observe()
    fourth = await observer.observe()  # nothing served since: no p99
    assert first["ams"].latency_p99_s is None  # nothing to diff against yet
    p99 = second["ams"].latency_p99_s
    assert p99 is not None and p99 <= 0.005
    slow = third["ams"].latency_p99_s
    assert slow is not None and 0.5 < slow <= 1.0
    assert fourth["ams"].latency_p99_s is None


def test_the_anomaly_watch_gets_the_p99_as_its_own_series() -> None:
    from controlplane.anomalies import metric_values
    from controlplane.observation import ProbeStatus, RegionObservation

    obs = RegionObservation("ams", 1.0, ProbeStatus.UP, 0.01, 100, 0, True, "", 100.0, 0.25)
    assert metric_values(obs)["latency_p99_ms"] == 250.0
    quiet = RegionObservation("ams", 1.0, ProbeStatus.UP, 0.01, 0, 0, True, "", 0.0, None)
    assert "latency_p99_ms" not in metric_values(quiet)
