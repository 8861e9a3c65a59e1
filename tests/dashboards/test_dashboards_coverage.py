"""Every metric Covenant exports is on some dashboard or listed as deliberately unplotted,
and every metric a dashboard reads exists (exported, recorded by the SLO rules, made by
Prometheus, or listed as pending)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml

from covenant.observability import slo_rule_files
from dashboards import metrics as m
from dashboards.generate import rendered
from dashboards.inputs import DashboardInputs
from dashboards.promql import metric_names
from tests.dashboards.exported import (
    anomaly_families,
    control_plane_families,
    core_api_families,
    front_door_families,
)

PROMETHEUS_MADE = frozenset({"ALERTS", "up"})


def plotted(inputs: DashboardInputs) -> set[str]:
    """Metric names read by any panel target or annotation of any dashboard."""
    names: set[str] = set()
    for d in rendered(inputs).values():
        exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
        exprs += [a["expr"] for a in d["annotations"]["list"] if a.get("expr")]
        for expr in exprs:
            names |= metric_names(expr)
    return names


def recorded() -> set[str]:
    """Series the shipped SLO rules record."""
    return {r["record"] for text in slo_rule_files().values()
            for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "record" in r}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, frozenset[str]]:
    core_api = asyncio.run(core_api_families(tmp_path_factory.mktemp("core_api")))
    return {**core_api, **control_plane_families(), **front_door_families(),
            **anomaly_families()}


def test_every_exported_family_is_plotted_or_explained(
        inputs: DashboardInputs, exported: dict[str, frozenset[str]]) -> None:
    names = plotted(inputs)
    missing = {family for family, samples in exported.items()
               if not samples & names and family not in m.UNPLOTTED}
    assert not missing, (f"exported but on no dashboard: {sorted(missing)}; plot them or "
                         "list them in dashboards.metrics.UNPLOTTED with the reason")


def test_the_registries_are_really_read(exported: dict[str, frozenset[str]]) -> None:
    """The enumeration is not vacuous: each source contributes its known families."""
    for family in ("http_requests", "http_request_duration_seconds", "db_pool_connections",
                   "outbox_pending_events", "covenant_reconcile_duration_seconds",
                   "covenant_leader", "covenant_frontdoor_requests",
                   "covenant_anomaly_band_upper"):
        assert family in exported


def test_every_plotted_metric_exists(inputs: DashboardInputs,
                                           exported: dict[str, frozenset[str]]) -> None:
    samples = {s for names in exported.values() for s in names}
    known = samples | recorded() | PROMETHEUS_MADE | set(m.PENDING)
    unknown = {n for n in plotted(inputs) if n not in known
               and not any(re.fullmatch(n, r) for r in recorded())}  # __name__=~ regexes
    assert not unknown, f"dashboards read metrics nothing produces: {sorted(unknown)}"


def test_pending_metrics_are_not_exported_yet(exported: dict[str, frozenset[str]]) -> None:
    """Once a pending metric exists, move its panels off the pending list (and this fails
    to say so)."""
    samples = {s for names in exported.values() for s in names}
    assert not set(m.PENDING) & samples


def test_the_constants_name_real_metrics() -> None:
    """dashboards.metrics spells the control plane's names; the registries agree."""
    cp = {s for names in control_plane_families().values() for s in names}
    for name in (m.REGION_UP, m.REGION_STATE, m.RECONCILE_BUCKET, m.RECONCILE_COUNT,
                 m.ACTIONS, m.LEADER, m.RUNBOOK_RUNS, m.RUNBOOK_STEP_FAILURES,
                 m.WEBHOOK_DELIVERIES):
        assert name in cp
    door = {s for names in front_door_families().values() for s in names}
    assert {m.FRONTDOOR_REQUESTS, m.FRONTDOOR_RETRIES, m.FRONTDOOR_UNAVAILABLE,
            m.FRONTDOOR_ROUTE_UPDATES} <= door
    anomaly = {s for names in anomaly_families().values() for s in names}
    assert {m.BAND_LOWER, m.BAND_UPPER, m.SCORE} <= anomaly


def test_region_state_values_match_the_control_plane() -> None:
    from controlplane.metrics import _STATE_VALUE

    assert {(v, h.value) for h, v in _STATE_VALUE.items()} == \
        {(v, text) for v, text, _ in m.REGION_STATES}


def test_not_available_series_are_named_in_the_docs() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "dashboards.md").read_text()
    for what in m.NOT_AVAILABLE:
        assert what.split(" (")[0] in doc
