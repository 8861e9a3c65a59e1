"""Observe: concurrent probes and scrapes through an injected transport."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from controlplane.desired import ProbePolicy, default_desired
from controlplane.observation import ProbeStatus
from controlplane.observe import (
    NO_INTERVAL,
    Interval,
    Observer,
    ProbeResult,
    Scrape,
    count_requests,
    interval,
    scrape_samples,
    summarise,
)
from tests.clocks import Ticking

DESIRED = default_desired(probe=ProbePolicy(timeout_s=0.2, scrape_timeout_s=0.2))
PORT_REGION = {8201 + i: r for i, r in enumerate(DESIRED.region_names())}


def metrics(ok: int, bad: int) -> str:
    return (
        "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n"
        f'http_requests_total{{region="x",route="/a",method="GET",status="200"}} {ok}\n'
        f'http_requests_total{{region="x",route="/a",method="GET",status="500"}} {bad}\n'
    )


class World:
    """What each region does: ok, refuse, reset, 503 on /ready, or slow."""

    def __init__(self) -> None:
        self.mode = {r: "ok" for r in DESIRED.region_names()}
        self.counts = {r: [0, 0] for r in DESIRED.region_names()}
        self.calls = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        region = PORT_REGION[request.url.port or 0]
        mode = self.mode[region]
        if mode == "refuse":
            raise httpx.ConnectError("refused", request=request)
        if mode == "reset":
            raise httpx.ReadError("reset by peer", request=request)
        if mode == "slow":
            await asyncio.sleep(0.05)
        if request.url.path == "/metrics":
            return httpx.Response(200, text=metrics(*self.counts[region]))
        if mode == "notready" and request.url.path == "/ready":
            return httpx.Response(503, json={"ready": False})
        return httpx.Response(200, json={"ok": True})


async def test_one_frozen_observation_per_region() -> None:
    world = World()
    world.mode.update(syd="refuse", sin="reset", sfo="notready", jnb="slow")
    observer = Observer(DESIRED, httpx.MockTransport(world.handle), clock=Ticking(10.0))
    first = await observer.observe()
    world.counts["ams"] = [90, 10]
    second = await observer.observe()
    assert set(first) == set(DESIRED.region_names())
    assert world.calls == 2 * 6 * 4
    assert first["ams"].status is ProbeStatus.UP and first["ams"].at == 10.0
    assert first["syd"].status is ProbeStatus.UNREACHABLE and first["syd"].latency_s is None
    assert "connect failed" in first["syd"].detail
    assert first["sin"].status is ProbeStatus.NOT_READY and "ReadError" in first["sin"].detail
    assert first["sfo"].status is ProbeStatus.NOT_READY and first["sfo"].detail == \
        "/ready answered 503"
    assert first["jnb"].latency_s is not None and first["jnb"].latency_s >= 0.05
    assert first["ams"].requests == 0  # no baseline yet
    assert (second["ams"].requests, second["ams"].errors) == (100, 10)
    assert second["ams"].error_ratio == 0.1
    assert not second["syd"].scraped


async def test_probe_timeout_counts_as_unreachable() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    obs = await Observer(DESIRED, httpx.MockTransport(hang)).observe()
    assert all(o.status is ProbeStatus.UNREACHABLE for o in obs.values())


def test_counter_sums_and_garbage() -> None:
    assert count_requests(scrape_samples(metrics(7, 3))) == (10.0, 3.0)
    assert count_requests(scrape_samples("not {{ metrics")) == (0.0, 0.0)


async def test_counter_reset_counts_from_zero() -> None:
    world = World()
    observer = Observer(DESIRED, httpx.MockTransport(world.handle))
    world.counts["iad"] = [500, 0]
    await observer.observe()
    world.counts["iad"] = [8, 2]  # the region restarted
    obs = await observer.observe()
    assert (obs["iad"].requests, obs["iad"].errors) == (10, 2)


def test_counts_the_core_api_exposition() -> None:
    from prometheus_client import generate_latest

    from core_api.metrics import ApiMetrics

    m = ApiMetrics("syd")
    for status in (200, 200, 200, 503):
        m.observe("/v1/countries/{iso3}", "GET", status, 0.01)
    assert count_requests(scrape_samples(generate_latest(m.registry).decode())) == (4.0, 1.0)


async def test_a_healthy_region_is_cut_off_once_its_median_probe_is_known_slow() -> None:
    """Healthy regions only need 'still good?': the cycle ends at the slow threshold."""
    from controlplane.health import Signal, classify

    desired = default_desired(probe=ProbePolicy(timeout_s=2.0, scrape_timeout_s=2.0))
    answer_after = desired.health.slow_latency_s + 0.4
    syd = next(r for r in desired.regions if r.name == "syd")

    async def sluggish(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(syd.endpoint):
            await asyncio.sleep(answer_after)
        return httpx.Response(200, text=metrics(1, 0) if request.url.path == "/metrics"
                              else '{"ok": true}')

    loop = asyncio.get_running_loop()
    observer = Observer(desired, httpx.MockTransport(sluggish))
    started = loop.time()
    cut = await observer.observe(healthy=frozenset(desired.region_names()))
    cut_took = loop.time() - started
    started = loop.time()
    full = await observer.observe(healthy=frozenset())
    full_took = loop.time() - started
    assert cut_took < answer_after - 0.1, cut_took
    assert full_took >= answer_after, full_took
    assert classify(cut["syd"], desired.health)[0] is Signal.BAD
    assert "slow" in classify(cut["syd"], desired.health)[1]
    assert not cut["syd"].scraped  # the scrape was abandoned with the probes
    assert full["syd"].latency_s is not None and full["syd"].latency_s >= answer_after
    assert classify(cut["ams"], desired.health)[0] is Signal.GOOD


@pytest.mark.parametrize(("previous", "current", "expected"), [
    (None, Scrape(10.0, 500, 5, {}), NO_INTERVAL),  # the first scrape: nothing to diff
    (Scrape(10.0, 500, 5, {}), Scrape(12.0, 600, 15, {}), Interval(100, 10, 50.0, None)),
    (Scrape(10.0, 500, 5, {}), Scrape(11.0, 8, 2, {}), Interval(8, 2, 8.0, None)),  # restart
    (Scrape(10.0, 500, 5, {}), Scrape(10.0, 510, 5, {}), Interval(10, 0, None, None)),  # same t
    (Scrape(10.0, 0, 0, {0.1: 0.0, math.inf: 0.0}),
     Scrape(11.0, 100, 0, {0.1: 100.0, math.inf: 100.0}), Interval(100, 0, 100.0, 0.099)),
])
def test_interval_between_two_scrapes(previous: Scrape | None, current: Scrape,
                                      expected: Interval) -> None:
    got = interval(previous, current)
    assert (got.requests, got.errors, got.rate) == (expected.requests, expected.errors,
                                                    expected.rate)
    assert got.p99_s == (pytest.approx(expected.p99_s) if expected.p99_s is not None else None)


def _probe(path: str, ok: bool = True, latency: float = 0.01, problem: str = "",
           connect_failed: bool = False) -> ProbeResult:
    return ProbeResult(path, ok, latency, problem, connect_failed)


@pytest.mark.parametrize(("results", "expected"), [
    ([_probe("/live"), _probe("/ready", latency=0.5), _probe("/health", latency=0.02)],
     (ProbeStatus.UP, 0.02, "")),  # the median, not the slow outlier
    ([_probe("/live", False, 1.0, "connect failed (ConnectError)", True),
      _probe("/ready", False, 1.0, "connect failed (ConnectError)", True),
      _probe("/health", False, 1.0, "connect failed (ConnectError)", True)],
     (ProbeStatus.UNREACHABLE, None, "every probe connect failed (ConnectError)")),
    ([_probe("/live"), _probe("/ready", False, problem="answered 503"), _probe("/health")],
     (ProbeStatus.NOT_READY, 0.01, "/ready answered 503")),
    ([_probe("/live", False, problem="answered 500"),
      _probe("/ready", False, problem="answered 503"), _probe("/health")],
     (ProbeStatus.NOT_READY, 0.01, "/live answered 500; /ready answered 503")),
    ([_probe("/live", False, 0.2, "failed mid-request (ReadError)"),
      _probe("/ready", False, 0.2, "failed mid-request (ReadError)"),
      _probe("/health", False, 0.2, "failed mid-request (ReadError)")],
     (ProbeStatus.NOT_READY, 0.2, "every probe failed mid-request (ReadError)")),
])
def test_summarise_probe_results(results: list[ProbeResult],
                                 expected: tuple[ProbeStatus, float | None, str]) -> None:
    assert summarise(results) == expected
