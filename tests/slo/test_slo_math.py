"""Pure budget, burn-rate, period and selector math (table tests)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from kernel.matchers import parse_selector, render_selector
from slo.budget import (
    budget_status,
    consumed_fraction,
    error_budget,
    remaining_fraction,
    safe_ratio,
)
from slo.burn import alert_windows, burn_factor, burn_rate, is_burning, rule_windows
from slo.period import parse_duration, parse_period, prom_duration


@pytest.mark.parametrize(("objective", "budget"), [(0.999, 0.001), (0.9995, 0.0005), (1.0, 0.0)])
def test_error_budget(objective: float, budget: float) -> None:
    assert error_budget(objective) == pytest.approx(budget)


@pytest.mark.parametrize(
    ("bad", "total", "objective", "consumed"),
    [
        (0, 0, 0.999, 0.0),  # no traffic: nothing consumed, no NaN
        (1, 1000, 0.999, 1.0),  # exactly the budget
        (5, 10000, 0.999, 0.5),
        (3, 1000, 0.999, 3.0),  # overspent
        (1, 10, 1.0, 1.0),  # 100% objective: any error exhausts
        (0, 10, 1.0, 0.0),
    ],
)
def test_consumed(bad: float, total: float, objective: float, consumed: float) -> None:
    got = consumed_fraction(bad, total, objective)
    assert got == pytest.approx(consumed)
    assert remaining_fraction(bad, total, objective) == pytest.approx(1 - consumed)
    assert math.isfinite(got)


def test_status_never_nan_without_traffic() -> None:
    s = budget_status("x", "svc", 0.999, 100.0, 0.0, 0.0, 0.0)
    assert (s.sli, s.error_ratio, s.consumed, s.remaining, s.burn_rate) == (1.0, 0.0, 0.0, 1.0, 0.0)
    assert not s.has_data and not s.exhausted
    assert safe_ratio(float("nan"), 1.0) == 0.0 and safe_ratio(1.0, 0.0) == 0.0


def test_status_exhausted_and_clamped() -> None:
    s = budget_status("x", "svc", 0.99, 100.0, 0.0, bad=50.0, total=1000.0)
    assert s.exhausted and s.burn_rate == pytest.approx(5.0) and s.remaining == pytest.approx(-4)
    # bad can never exceed total (e.g. a latency bucket scraped between two counters)
    assert budget_status("x", "s", 0.99, 1, 0, bad=20.0, total=10.0).error_ratio == 1.0


@pytest.mark.parametrize(
    ("period", "factors"),
    [
        ("30d", [14.4, 6.0, 3.0, 1.0]),
        ("28d", [13.44, 5.6, 2.8, 0.9333333]),
        ("7d", [3.36, 1.4, 0.7, 0.2333333]),
        ("calendar-month", [14.4, 6.0, 3.0, 1.0]),
    ],
)
def test_burn_factors_scale_with_period_like_sloth(period: str, factors: list[float]) -> None:
    wins = alert_windows(parse_period(period))
    assert [w.factor for w in wins] == pytest.approx(factors)
    assert [(prom_duration(w.short_seconds), prom_duration(w.long_seconds)) for w in wins] == [
        ("5m", "1h"), ("30m", "6h"), ("2h", "1d"), ("6h", "3d")]


def test_exact_workbook_factors_for_30d() -> None:
    # The rules print these floats; they must be the exact literals, not 14.399999.
    assert [w.factor for w in alert_windows(parse_period("30d"))] == [14.4, 6.0, 3.0, 1.0]
    assert burn_factor(30 * 86400, 2, 3600) == 14.4


def test_rule_windows_and_names() -> None:
    assert [prom_duration(w) for w in rule_windows(parse_period("28d"))] == [
        "5m", "30m", "1h", "2h", "6h", "1d", "3d", "4w"]
    assert prom_duration(30 * 86400) == "30d" and prom_duration(5400) == "1h30m"
    assert parse_duration("4w") == 28 * 86400 and parse_duration("1h30m") == 5400
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5 minutes")


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [(0.1, 0.1, True), (0.1, 0.001, False), (0.001, 0.1, False), (None, 0.1, False)],
)
def test_is_burning_needs_both_windows(short: float | None, long: float | None,
                                       expected: bool) -> None:
    page = alert_windows(parse_period("30d"))[0]
    assert is_burning(short, long, page, 0.001) is expected


def test_burn_rate() -> None:
    assert burn_rate(0.0144, 0.001) == pytest.approx(14.4)
    assert burn_rate(0.0, 0.0) == 0.0 and math.isfinite(burn_rate(0.5, 0.0))


def test_calendar_month_period_start() -> None:
    now = datetime(2026, 2, 17, 13, 0, tzinfo=UTC).timestamp()
    assert parse_period("calendar-month").start(now) == datetime(2026, 2, 1, tzinfo=UTC).timestamp()
    assert parse_period("7d").start(now) == now - 7 * 86400


def test_selector_parse_match_render() -> None:
    m = parse_selector('region="ams", status=~"5..",route!="/health"')
    assert [x.matches({"region": "ams", "status": "503", "route": "/x"}) for x in m] == [True] * 3
    assert not m[1].matches({"status": "200"})
    assert render_selector("up", m) == 'up{region="ams",status=~"5..",route!="/health"}'
    assert render_selector("up") == "up"
    with pytest.raises(ValueError, match="bad label matcher"):
        parse_selector("region=ams")
