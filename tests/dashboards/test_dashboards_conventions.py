"""The conventions every generated dashboard keeps: modern panel types, units and
thresholds everywhere, the templated datasource, $__rate_interval, runbook links, one
template for the six region dashboards."""

from __future__ import annotations

from typing import Any

from dashboards.generate import build_all, rendered
from dashboards.inputs import DashboardInputs
from dashboards.lint import panels
from dashboards.render import SCHEMA_VERSION

Json = dict[str, Any]
MODERN = {"timeseries", "stat", "table", "text", "row"}


def query_panels(d: Json) -> list[Json]:
    return [p for p in panels(d) if p["type"] not in ("row", "text")]


def test_modern_panel_types_and_schema(inputs: DashboardInputs) -> None:
    for d in rendered(inputs).values():
        assert {p["type"] for p in panels(d)} <= MODERN, d["uid"]
        assert d["schemaVersion"] == SCHEMA_VERSION


def test_units_and_thresholds_on_every_panel(inputs: DashboardInputs) -> None:
    for d in rendered(inputs).values():
        for p in query_panels(d):
            defaults = p["fieldConfig"]["defaults"]
            assert defaults["unit"], (d["uid"], p["title"])
            steps = defaults["thresholds"]["steps"]
            assert steps and steps[0]["value"] is None, (d["uid"], p["title"])


def test_every_target_uses_the_datasource_variable(inputs: DashboardInputs) -> None:
    for d in rendered(inputs).values():
        names = [t["name"] for t in d["templating"]["list"]]
        assert names[0] == "datasource"
        for p in query_panels(d):
            assert p["datasource"]["uid"] == "${datasource}"
            assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"])


def test_template_variables(inputs: DashboardInputs) -> None:
    every = rendered(inputs)

    def variables(uid: str) -> dict[str, Json]:
        return {t["name"]: t for t in every[uid]["templating"]["list"]}

    overview = variables("covenant-overview")
    assert overview["region"]["multi"] and overview["region"]["allValue"] == ".+"
    assert "service" in overview and "service" in variables("covenant-slos")
    for r in inputs.regions:
        region = variables(f"covenant-region-{r}")["region"]
        assert (region["type"], region["query"], region["hide"]) == ("constant", r, 2)
    assert {"job", "instance"} <= set(variables("covenant-controlplane"))


def test_rates_follow_the_rate_interval(inputs: DashboardInputs) -> None:
    for d in rendered(inputs).values():
        for p in query_panels(d):
            for t in p["targets"]:
                if "rate(" in t["expr"] or "increase(" in t["expr"]:
                    assert "[$__rate_interval]" in t["expr"], (p["title"], t["expr"])


def test_region_dashboards_come_from_one_template(inputs: DashboardInputs) -> None:
    every = rendered(inputs)
    shapes = {tuple((p["type"], p["title"], tuple(t["expr"] for t in p.get("targets", [])))
                    for p in panels(every[f"covenant-region-{r}"])) for r in inputs.regions}
    assert len(shapes) == 1  # same panels and queries; only the region constant differs


def test_every_panel_has_a_runbook_where_one_applies(inputs: DashboardInputs) -> None:
    """Errors, latency, region state, database and outbox panels link their runbook."""
    for d in build_all(inputs):
        for p in d.panels():
            if any(w in p.title for w in ("Error ratio", "p99", "Region state", "Database",
                                          "Outbox")):
                assert p.runbook, (d.uid, p.title)


def test_the_missing_series_are_said_on_the_dashboard(inputs: DashboardInputs) -> None:
    texts = [p["options"]["content"] for p in panels(rendered(inputs)["covenant-region-ams"])
             if p["type"] == "text"]
    assert texts and "cache hit ratio" in texts[0] and "not available" in texts[0]


def test_pending_panels_are_marked_and_only_the_runbook_ones(inputs: DashboardInputs) -> None:
    from dashboards.metrics import PENDING

    marked = {m for d in rendered(inputs).values() for p in panels(d)
              for m in p.get("covenantPending", [])}
    assert marked == set(PENDING)
