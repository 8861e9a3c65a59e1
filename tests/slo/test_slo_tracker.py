"""BudgetTracker: counters over time, resets, latency buckets, probes, no data."""

from __future__ import annotations

import math

import pytest

from kernel.exposition import Sample
from slo.budget import BudgetStatus
from slo.spec import default_spec_path, load_group, parse_spec, to_model
from slo.tracker import BudgetTracker

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _req(region: str, status: str, v: float) -> Sample:
    return Sample("http_requests_total", {"region": region, "route": "/a", "method": "GET",
                                          "status": status}, v)


def _by_id(tracker: BudgetTracker, now: float) -> dict[str, BudgetStatus]:
    return {s.slo_id: s for s in tracker.status(now)}


def test_ratio_budget_from_counters_with_reset() -> None:
    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    # ok/err counters per minute; the process restarts at minute 3 (counters drop to small values)
    series = [(0, 0), (1000, 0), (2000, 1), (100, 0), (1100, 1)]
    for i, (ok, err) in enumerate(series):
        tracker.ingest("ams", [_req("ams", "200", ok), _req("ams", "500", err)], T0 + 60 * i)
    st = _by_id(tracker, T0 + 240)["core-api-availability-ams"]
    # increases: ok 1000+1000+100(reset)+1000, err 0+1+0(reset: 0)+1
    assert st.total == 3100 + 2 and st.bad == 2
    assert st.error_ratio == pytest.approx(2 / 3102)
    assert st.consumed == pytest.approx((2 / 3102) / 0.0005000000000000004, rel=1e-9)
    glob = _by_id(tracker, T0 + 240)["core-api-availability-global"]
    assert glob.total == st.total and (st.region, glob.region) == ("ams", "")  # only ams
    other = _by_id(tracker, T0 + 240)["core-api-availability-iad"]
    assert not other.has_data and other.remaining == 1.0 and math.isfinite(other.burn_rate)


def test_first_sight_is_a_baseline_like_prometheus() -> None:
    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    tracker.ingest("ams", [_req("ams", "200", 5000)], T0)
    tracker.ingest("ams", [_req("ams", "200", 6000), _req("ams", "500", 7)], T0 + 60)
    st = _by_id(tracker, T0 + 60)["core-api-availability-ams"]
    assert (st.total, st.bad) == (1000, 0)


def test_latency_and_uptime() -> None:
    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    for i in range(3):
        base = {"region": "sin", "route": "/a", "method": "GET"}
        tracker.ingest("sin", [
            Sample("http_request_duration_seconds_bucket", {**base, "le": "0.1"}, 90.0 * i),
            Sample("http_request_duration_seconds_bucket", {**base, "le": "+Inf"}, 100.0 * i),
            Sample("http_request_duration_seconds_bucket", {**base, "le": "0.05"}, 10.0 * i),
            Sample("covenant_region_up", {"region": "sin"}, 0.0 if i == 2 else 1.0),
        ], T0 + 60 * i)
        tracker.ingest("ams", [Sample("covenant_region_up", {"region": "ams"}, 1.0)], T0 + 60 * i)
    by = _by_id(tracker, T0 + 120)
    lat = by["core-api-latency-sin"]
    assert (lat.total, lat.bad) == (200, 20) and lat.error_ratio == pytest.approx(0.1)
    assert by["core-api-latency-global"].bad == 20
    up = by["core-api-uptime-global"]
    assert (up.total, up.bad) == (6, 1)  # 6 probe samples, one of them down
    assert up.exhausted


def test_windows_and_rolling_period() -> None:
    spec = {"version": "prometheus/v1", "service": "s", "slos": [
        {"name": "a", "objective": 99, "time_window": "7d",
         "sli": {"ratio": {"selector": 'region="ams"'}}, "alerting": {"name": "A"}}]}
    tracker = BudgetTracker(to_model(parse_spec(spec)).slos)
    day = 86400
    for i in range(0, 10 * day + 1, 3600):  # hourly, 10 days; errors only on day 1
        err = 50.0 if i > day else 0.0
        tracker.ingest("ams", [_req("ams", "200", 100.0 * i / 3600),
                               _req("ams", "500", err)], T0 + i)
    st = tracker.status(T0 + 10 * day)[0]
    assert st.bad == 0 and st.total == pytest.approx(100 * 7 * 24)  # day 1 has rolled out
    burns = {b.window_seconds: b for b in st.burns}
    # an increase counts at the sample that reveals it: the last hourly sample is in every window
    assert burns[3600].total == pytest.approx(100) and burns[300].total == pytest.approx(100)
    assert burns[86400].total == pytest.approx(2400)


def test_timeslices() -> None:
    spec = {"version": "prometheus/v1", "service": "s", "slos": [
        {"name": "a", "objective": 90, "budgeting": "timeslices",
         "timeslice": {"length": "5m", "good_threshold": 0.9},
         "sli": {"ratio": {"selector": 'region="ams"'}}, "alerting": {"name": "A"}}]}
    tracker = BudgetTracker(to_model(parse_spec(spec)).slos)
    ok = err = 0.0
    for minute in range(0, 31):  # six 5-minute slices; slice 2 is bad (50% errors)
        bad = 10.0 if 10 <= minute < 15 else 0.0
        ok += 10.0
        err += bad
        tracker.ingest("ams", [_req("ams", "200", ok), _req("ams", "500", err)],
                       T0 + 60 * minute + 1)
    st = tracker.status(T0 + 60 * 30 + 1)[0]
    assert (st.bad, st.total) == (1.0, 7.0)


@pytest.mark.parametrize(("window", "first", "now", "observed"), [
    ("7d", T0, T0 + 45, 45.0),  # since the first sample (a baseline)
    ("7d", T0, T0 + 8 * 86400, 7 * 86400.0),  # capped at the rolling period
    ("calendar-month", T0 - 3600, T0 + 600, 600.0),  # a month began at T0: counts from it
])
def test_observation_span_for_the_policys_minimum(window: str, first: float, now: float,
                                                  observed: float) -> None:
    spec = {"version": "prometheus/v1", "service": "s", "slos": [
        {"name": "a", "objective": 99, "time_window": window,
         "sli": {"ratio": {"selector": 'region="ams"'}}, "alerting": {"name": "A"}},
        {"name": "b", "objective": 99, "time_window": window,
         "sli": {"ratio": {"selector": 'region="iad"'}}, "alerting": {"name": "B"}}]}
    slos = to_model(parse_spec(spec)).slos
    tracker = BudgetTracker(slos)
    for at in (first, (first + now) / 2, now):
        tracker.ingest("ams", [_req("ams", "200", at - first)], at)
    a, b = tracker.status(now)
    assert (a.observed_s, a.period_s) == (observed, float(slos[0].period.seconds))
    assert (b.observed_s, b.elapsed_share) == (0.0, 0.0)  # never sampled: nothing observed
