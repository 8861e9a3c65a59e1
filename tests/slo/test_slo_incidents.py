"""Incidents into the policy: budget consumed per SLO from budget snapshots."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from slo.budget import BudgetStatus, budget_status
from slo.incidents import IncidentError, IncidentWindow, consumed_during, incidents_for_policy
from slo.policy import DecisionKind, evaluate

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
PERIOD = 30 * 86400.0
AMS, IAD, GLOBAL = ("core-api-availability-ams", "core-api-availability-iad",
                    "core-api-availability-global")


def _snap(slo_id: str, at: float, consumed: float, region: str = "",
          service: str = "core-api", period_start: float | None = None) -> BudgetStatus:
    """A 99.9% budget over 10,000 events that has spent ``consumed`` of itself at ``at``."""
    start = at - PERIOD if period_start is None else period_start
    return budget_status(slo_id, service, 0.999, at, start, consumed * 10, 10000,
                         region=region, period_s=PERIOD, observed_s=at - start)


# Snapshots every 10 minutes from T0; ams burns between +10m and +20m.
HISTORY = [
    *(_snap(AMS, T0 + 600 * i, c, "ams") for i, c in enumerate([0.1, 0.2, 0.5, 0.5])),
    *(_snap(IAD, T0 + 600 * i, 0.3, "iad") for i in range(4)),
    *(_snap(GLOBAL, T0 + 600 * i, c) for i, c in enumerate([0.05, 0.1, 0.15, 0.2])),
    *(_snap("other-availability", T0 + 600 * i, 0.3 * i, service="other") for i in range(4)),
]


def _window(opened: float, resolved: float | None, service: str = "core-api",
            region: str = "") -> IncidentWindow:
    return IncidentWindow("i1", service, "P1", False, opened, resolved, region)


@pytest.mark.parametrize(("window", "expected"), [
    # resolved inside the history: last snapshot at/before open (T0) to last at/before end
    (_window(T0 + 300, T0 + 1500), {AMS: 0.4, IAD: 0.0, GLOBAL: 0.1}),
    # still open: up to the newest snapshot
    (_window(T0 + 300, None), {AMS: 0.4, IAD: 0.0, GLOBAL: 0.15}),
    # snapshots exactly at the open and resolve times are the ends
    (_window(T0 + 600, T0 + 1200), {AMS: 0.3, IAD: 0.0, GLOBAL: 0.05}),
    # opened before the history began: its first snapshot stands in for the start
    (_window(T0 - 1000, T0 + 600), {AMS: 0.1, IAD: 0.0, GLOBAL: 0.05}),
    # resolved before the history began: nothing known
    (_window(T0 - 1000, T0 - 10), {}),
    # a regional incident: its region's SLO and the global one, not the other regions'
    (_window(T0 + 300, T0 + 1500, region="iad"), {IAD: 0.0, GLOBAL: 0.1}),
    # another service's incident reads only that service's SLOs
    (_window(T0, None, service="other"), {"other-availability": 0.9}),
    (_window(T0, None, service="nobody"), {}),
])
def test_budget_consumed_per_slo(window: IncidentWindow, expected: Mapping[str, float]) -> None:
    (incident,) = incidents_for_policy([window], HISTORY)
    assert dict(incident.budget_consumed) == pytest.approx(expected)
    assert incident.open is (window.resolved_at is None)


def test_history_order_does_not_matter() -> None:
    window = _window(T0 + 300, T0 + 1500)
    forward = incidents_for_policy([window], HISTORY)
    backward = incidents_for_policy([window], list(reversed(HISTORY)))
    assert forward == backward


def _utc(month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC).timestamp()


JAN, FEB = _utc(1, 1), _utc(2, 1)  # the calendar periods' starts


@pytest.mark.parametrize(("snaps", "start", "end", "expected"), [
    # the budget recovers (traffic grew): nothing consumed, never negative
    ([_snap(AMS, T0, 0.5), _snap(AMS, T0 + 600, 0.3)], T0, T0 + 600, 0.0),
    ([_snap(AMS, T0, 0.5)], T0 - 60, T0 + 600, 0.0),  # one snapshot: no change seen
    ([_snap(AMS, T0, 0.5)], T0 - 600, T0 - 60, None),  # over before the first snapshot
    # a calendar month begins mid-incident: the larger of either month's part
    ([_snap(AMS, _utc(1, 31, 23, 50), 0.3, period_start=JAN),
      _snap(AMS, _utc(1, 31, 23, 59), 0.45, period_start=JAN),
      _snap(AMS, _utc(2, 1, 0, 5), 0.1, period_start=FEB),
      _snap(AMS, _utc(2, 1, 0, 10), 0.2, period_start=FEB)],
     _utc(1, 31, 23, 55), _utc(2, 1, 0, 20), 0.2),
    ([_snap(AMS, _utc(1, 31, 23, 50), 0.3, period_start=JAN),
      _snap(AMS, _utc(1, 31, 23, 59), 0.9, period_start=JAN),
      _snap(AMS, _utc(2, 1, 0, 5), 0.1, period_start=FEB)],
     _utc(1, 31, 23, 55), None, 0.6),
])
def test_consumed_during(snaps: list[BudgetStatus], start: float, end: float | None,
                         expected: float | None) -> None:
    got = consumed_during(snaps, start, end)
    assert got == (None if expected is None else pytest.approx(expected))


def test_priority_security_and_openness_reach_the_policy() -> None:
    windows = [IncidentWindow("big", "core-api", "p0", False, T0 + 300, None),
               IncidentWindow("sec", "core-api", "P3", True, T0 + 300, T0 + 900),
               IncidentWindow("small", "core-api", "P2", False, T0 + 1200, T0 + 1800)]
    big, sec, small = incidents_for_policy(windows, HISTORY)
    assert (big.priority, big.security, big.open) == ("P0", False, True)
    assert (sec.priority, sec.security, sec.open) == ("P3", True, False)
    exhausted = budget_status(AMS, "core-api", 0.999, T0 + 1800, T0 + 1800 - PERIOD, 20, 10000)
    decisions = evaluate([exhausted], [big, sec, small], T0 + 1800)
    # big consumed 40% of ams's budget (> 20%): a postmortem; small consumed nothing of it
    postmortems = [(d.incident_id, d.slo_id) for d in decisions
                   if d.kind is DecisionKind.POSTMORTEM_REQUIRED]
    assert postmortems == [("big", AMS)]
    # only the open P0 gets a deploy exception (the security one is resolved)
    assert [d.incident_id for d in decisions if d.kind is DecisionKind.DEPLOY_EXCEPTION] == [
        "big"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"priority": "sev1"}, "incident 'x': priority 'sev1' is not one of P0, P1, P2, P3, P4; "
                           "map its severity to a priority"),
    ({"resolved_at": T0 - 1}, f"incident 'x': resolved_at {T0 - 1!r} is not at or after "
                              f"opened_at {T0!r}; pass resolved_at=None for an open incident"),
    ({"opened_at": math.nan}, "incident 'x': opened_at nan is not a time; pass unix seconds"),
    ({"opened_at": T0, "resolved_at": math.nan}, "resolved_at nan is not at or after"),
])
def test_bad_windows_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"id": "x", "service": "core-api", "priority": "P1",
                               "security": False, "opened_at": T0, **kwargs}
    with pytest.raises(IncidentError, match=re.escape(message)):
        IncidentWindow(**args)  # type: ignore[arg-type]
