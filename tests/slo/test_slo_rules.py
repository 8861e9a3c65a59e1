"""Generated rules: Sloth's names, labels and groups, plus Covenant's additions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from slo.alertmanager import fragment, full_config
from slo.generate import generate
from slo.rules import render_rules
from slo.spec import default_spec_path, load_group, parse_spec, to_model

SLOTH_RECORDS = {
    "slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate30m", "slo:sli_error:ratio_rate1h",
    "slo:sli_error:ratio_rate2h", "slo:sli_error:ratio_rate6h", "slo:sli_error:ratio_rate1d",
    "slo:sli_error:ratio_rate3d", "slo:sli_error:ratio_rate30d", "slo:objective:ratio",
    "slo:error_budget:ratio", "slo:time_period:days", "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio", "slo:period_error_budget_remaining:ratio", "sloth_slo_info",
}


def _groups(text: str) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(text)["groups"]
    return groups


def test_sloth_names_labels_and_groups() -> None:
    slo = load_group(default_spec_path()).slos[0]  # availability-ams
    sli, meta, alerts = _groups(render_rules([slo]))
    assert [sli["name"], meta["name"], alerts["name"]] == [
        "sloth-slo-sli-recordings-core-api-availability-ams",
        "sloth-slo-meta-recordings-core-api-availability-ams",
        "sloth-slo-alerts-core-api-availability-ams"]
    records = {r["record"] for g in (sli, meta) for r in g["rules"]}
    assert records >= SLOTH_RECORDS
    ids = {"sloth_id": "core-api-availability-ams", "sloth_service": "core-api",
           "sloth_slo": "availability-ams"}
    for r in sli["rules"]:
        assert ids.items() <= r["labels"].items() and "sloth_window" in r["labels"]
    r5 = next(r for r in sli["rules"] if r["record"] == "slo:sli_error:ratio_rate5m")
    assert r5["labels"]["sloth_window"] == "5m" and r5["labels"]["region"] == "ams"
    assert "[5m]" in r5["expr"] and "{{.window}}" not in r5["expr"]
    meta_by = {r["record"]: r for r in meta["rules"]}
    assert meta_by["slo:objective:ratio"]["expr"] == "vector(0.9995)"
    assert meta_by["slo:error_budget:ratio"]["expr"] == "vector(1-0.9995)"
    assert meta_by["slo:time_period:days"]["expr"] == "vector(30)"
    assert meta_by["sloth_slo_info"]["labels"]["sloth_objective"] == "99.95"
    page, ticket, exhausted, nodata = alerts["rules"]
    assert page["labels"]["sloth_severity"] == "page"
    assert ticket["labels"]["sloth_severity"] == "ticket"
    assert "(14.4 * 0.0004999999999999716)" in page["expr"] and "(6 * " in page["expr"]
    assert "(3 * " in ticket["expr"] and "(1 * " in ticket["expr"]
    assert page["for"] == "2m" and ticket["for"] == "15m"
    # The control plane's page of the runbook the alert starts (GET /runbooks/{id}).
    assert page["annotations"]["runbook_url"].endswith("/runbooks/error-budget-fast-burn")
    assert exhausted["alert"] == "CoreApiAvailabilityErrorBudgetExhausted"
    assert "<= 0" in exhausted["expr"]
    assert nodata["alert"] == "CoreApiAvailabilityNoData" and "absent(" in nodata["expr"]


def test_period_window_is_traffic_weighted_and_nan_free() -> None:
    slo = load_group(default_spec_path()).slos[0]
    sli = _groups(render_rules([slo]))[0]["rules"]
    period = next(r for r in sli if r["record"] == "slo:sli_error:ratio_rate30d")
    assert "sum_over_time(slo:sli_error_events:rate5m" in period["expr"]
    assert "clamp_min(sum_over_time(slo:sli_total_events:rate5m" in period["expr"]
    # Availability from a probe gauge has no events: Sloth's average of 5m ratios.
    uptime = load_group(default_spec_path()).slos[-1]
    rules = _groups(render_rules([uptime]))[0]["rules"]
    period = next(r for r in rules if r["record"] == "slo:sli_error:ratio_rate30d")
    assert "count_over_time(slo:sli_error:ratio_rate5m" in period["expr"]
    assert "avg_over_time(covenant_region_up[5m])" in rules[0]["expr"]


def _spec(**extra: Any) -> dict[str, Any]:
    slo = {"name": "s", "objective": 99.9, "sli": {"ratio": {"selector": 'region="ams"'}},
           "alerting": {"name": "S"}, **extra}
    return {"version": "prometheus/v1", "service": "svc", "slos": [slo]}


def test_28d_period_uses_prometheus_duration_names() -> None:
    slo = to_model(parse_spec(_spec(time_window="28d"))).slos[0]
    sli, meta, alerts = _groups(render_rules([slo]))
    assert any(r["record"] == "slo:sli_error:ratio_rate4w" for r in sli["rules"])
    assert "(13.44 * " in alerts["rules"][0]["expr"]
    days = next(r for r in meta["rules"] if r["record"] == "slo:time_period:days")
    assert days["expr"] == "vector(28)"


def test_timeslices_rules() -> None:
    slo = to_model(parse_spec(_spec(budgeting="timeslices",
                                    timeslice={"length": "5m", "good_threshold": 0.95}))).slos[0]
    rules = _groups(render_rules([slo]))[0]["rules"]
    assert rules[0]["record"] == "slo:sli_bad_timeslice:bool" and "> bool 0.05" in rules[0]["expr"]
    assert all("avg_over_time(slo:sli_bad_timeslice:bool" in r["expr"] for r in rules[1:])


def test_disabled_alerts_and_custom_for() -> None:
    slo = to_model(parse_spec(_spec(alerting={
        "name": "S", "ticket_alert": {"disable": True}, "page_alert": {"for": "0s"},
        "no_data": {"disable": True}}))).slos[0]
    alerts = _groups(render_rules([slo]))[2]["rules"]
    assert [a["labels"]["sloth_severity"] for a in alerts] == ["page", "ticket"]
    assert "for" not in alerts[0]
    assert alerts[1]["alert"] == "SErrorBudgetExhausted"


def test_alertmanager_fragment_routes_and_inhibits() -> None:
    frag = fragment()
    routes = frag["routes"]
    assert isinstance(routes, list)
    assert [r["matchers"] for r in routes] == [
        ['sloth_severity="page"'], ['sloth_severity="ticket"']]
    inhibit = frag["inhibit_rules"]
    assert inhibit == [{"source_matchers": ['sloth_severity="page"'],
                        "target_matchers": ['sloth_severity="ticket"'], "equal": ["sloth_id"]}]
    full = full_config(frag)
    assert full["route"] == {"receiver": "default", "routes": routes}


def test_generate_writes_files(tmp_path: Path) -> None:
    res = generate(load_group(default_spec_path()), tmp_path, tests=False)
    assert len(res.rule_files) == 15 and not res.test_files
    assert res.alertmanager.read_text().startswith("# Alertmanager fragment")
    assert not list(tmp_path.glob("*.tmp"))


def test_sloth_window_template_with_spaces() -> None:
    spec = {"version": "prometheus/v1", "service": "s", "slos": [
        {"name": "e", "objective": 99.9, "alerting": {"name": "E"},
         "sli": {"events": {"error_query": 'sum(rate(x{code="500"}[{{ .window }}]))',
                            "total_query": "sum(rate(x[{{.window}}]))"}}}]}
    sli = _groups(render_rules(to_model(parse_spec(spec)).slos))[0]["rules"]
    assert sli[0]["expr"] == '(sum(rate(x{code="500"}[5m])))\n/\n(sum(rate(x[5m])))\n'


def test_cli_generate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from covenant.cli import app

    res = CliRunner().invoke(app, ["slo", "generate", str(default_spec_path()), "--out",
                                   str(tmp_path), "--no-tests"])
    assert res.exit_code == 0 and "wrote 15 rule files" in res.output
    assert (tmp_path / "core-api-uptime-global.rules.yml").exists()
    assert (tmp_path / "alertmanager.yml").exists()
