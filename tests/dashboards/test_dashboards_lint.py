"""The dashboard-linter rules: every generated dashboard passes them (under the .lint file
it ships with), and each rule fails the dashboard it is about."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboards.errors import DashboardError, LintFailed
from dashboards.generate import build_all, generate, lint_all
from dashboards.inputs import DashboardInputs
from dashboards.lint import lint
from dashboards.lint_config import LintConfig, config_text, load_config, parse_config
from dashboards.provisioning import Provisioning
from dashboards.render import to_json

Json = dict[str, Any]
PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}


def good() -> Json:
    """A minimal dashboard that passes every rule."""
    templates = [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus"},
        *({"name": n, "label": n.title(), "type": "query", "datasource": PROMETHEUS,
           "multi": True, "allValue": ".+", "refresh": 2, "query": f"label_values(up, {n})"}
          for n in ("job", "instance")),
    ]
    panel = {"type": "timeseries", "title": "Requests", "description": "Per second.",
             "datasource": PROMETHEUS, "fieldConfig": {"defaults": {"unit": "reqps"}},
             "targets": [{"expr": 'sum(rate(http_requests_total{job=~"$job", '
                                  'instance=~"$instance"}[$__rate_interval]))'}]}
    return {"uid": "good-one", "title": "Good", "templating": {"list": templates},
            "panels": [{"type": "row", "title": "Row", "panels": []}, panel]}


def _panel(d: Json) -> Json:
    p: Json = d["panels"][1]
    return p


def _expr(d: Json, expr: str) -> None:
    _panel(d)["targets"][0]["expr"] = expr


def _template(d: Json, name: str) -> Json:
    t: Json = next(t for t in d["templating"]["list"] if t["name"] == name)
    return t


BREAKS: dict[str, tuple[Callable[[Json], None], str]] = {
    "template-datasource-rule": (lambda d: _template(d, "datasource").update(label="DS"),
                                 "label it 'Data source'"),
    "template-job-rule": (lambda d: _template(d, "job").update(multi=False),
                          "job template should be a multi select"),
    "template-instance-rule": (lambda d: _template(d, "instance").update(allValue=".*"),
                               "allValue should be '.+'"),
    "template-on-time-change-reload-rule": (lambda d: _template(d, "job").update(refresh=1),
                                            "refresh on time range change"),
    "template-label-promql-rule": (lambda d: _template(d, "job").update(query="up{"),
                                   "is not label_values"),
    "uid-rule": (lambda d: d.update(uid="has spaces/and slashes"), "not a stable UID"),
    "panel-datasource-rule": (lambda d: _panel(d).update(datasource="Prometheus"),
                              "does not use a templated datasource"),
    "panel-title-description-rule": (lambda d: _panel(d).update(description=""),
                                     "no description"),
    "panel-units-rule": (lambda d: _panel(d)["fieldConfig"]["defaults"].update(unit="furlongs"),
                         "invalid unit 'furlongs'"),
    "panel-no-targets-rule": (lambda d: _panel(d).update(targets=[]), "has no targets"),
    "target-rate-interval-rule": (
        lambda d: _expr(d, 'sum(rate(http_requests_total{job=~"$job", instance=~"$instance"}'
                           '[5m]))'), "should use $__rate_interval"),
    "target-counter-agg-rule": (
        lambda d: _expr(d, 'sum(http_requests_total{job=~"$job", instance=~"$instance"})'),
        "counter http_requests_total is not aggregated"),
    "target-job-rule": (lambda d: _expr(d, 'up{instance=~"$instance"}'),
                        'has no job=~"$job" matcher'),
    "target-instance-rule": (lambda d: _expr(d, 'up{job=~"$job"}'),
                             'has no instance=~"$instance" matcher'),
    "target-promql-rule": (lambda d: _expr(d, 'sum(up{job=~"$job", instance=~"$instance"}'),
                           "unbalanced parentheses"),
}


def test_the_good_dashboard_passes() -> None:
    assert lint(good()) == []


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_rule_fails_the_dashboard_it_is_about(rule: str) -> None:
    d = copy.deepcopy(good())
    breaker, says = BREAKS[rule]
    breaker(d)
    found = lint(d)
    assert [p.rule for p in found] == [rule], found
    assert says in found[0].message
    assert found[0].dashboard == "Good"


def test_a_dashboard_without_a_datasource_variable_fails_two_rules() -> None:
    d = copy.deepcopy(good())
    d["templating"]["list"].pop(0)
    assert {p.rule for p in lint(d)} == {"template-datasource-rule", "panel-datasource-rule"}


def test_an_exclusion_silences_its_rule_only_where_it_says() -> None:
    d = copy.deepcopy(good())
    _expr(d, "up")
    assert {p.rule for p in lint(d)} == {"target-job-rule", "target-instance-rule"}
    config = parse_config("exclusions:\n  target-job-rule:\n    entries:\n"
                          "    - dashboard: Good\n      reason: one job\n")
    assert {p.rule for p in lint(d, config)} == {"target-instance-rule"}
    elsewhere = parse_config("exclusions:\n  target-job-rule:\n    entries:\n"
                             "    - dashboard: Other\n")
    assert "target-job-rule" in {p.rule for p in lint(d, elsewhere)}
    everywhere = parse_config("exclusions:\n  target-job-rule:\n    reason: no jobs\n")
    assert "target-job-rule" not in {p.rule for p in lint(d, everywhere)}


def test_promql_checker_findings_are_problems() -> None:
    found = lint(good(), promql=lambda exprs: {0: "parse error: unclosed left parenthesis"})
    assert [(p.rule, p.panel) for p in found] == [("target-promql-rule", "Requests")]


def test_every_generated_dashboard_passes(inputs: DashboardInputs) -> None:
    assert lint_all(build_all(inputs), inputs) == []


def test_generated_dashboards_break_job_rules_only_where_excluded(
        inputs: DashboardInputs) -> None:
    """Without the .lint file, only the excluded rules fire, and only on the dashboards
    that declare them: the exclusions hide nothing else."""
    for d in build_all(inputs):
        rules = {p.rule for p in lint(to_json(d, inputs), LintConfig())}
        assert rules <= set(d.lint_exclusions), (d.title, rules)


def test_lint_file_round_trips(inputs: DashboardInputs, tmp_path: Path) -> None:
    models = build_all(inputs)
    (tmp_path / ".lint").write_text(config_text(models))
    config = load_config(tmp_path)
    for d in models:
        for rule in d.lint_exclusions:
            assert any(e.dashboard == d.title and e.reason for e in config.exclusions[rule])
    assert load_config(tmp_path / "nowhere") == LintConfig()


def test_a_broken_lint_file_is_named(tmp_path: Path) -> None:
    (tmp_path / ".lint").write_text("exclusions: [not, a, mapping]\n")
    with pytest.raises(DashboardError, match=r"\.lint: 'exclusions' must map rule names"):
        load_config(tmp_path)


def test_generate_writes_nothing_when_lint_fails(inputs: DashboardInputs,
                                                 tmp_path: Path) -> None:
    written: list[Path] = []
    with pytest.raises(LintFailed) as failed:
        generate(inputs, tmp_path, Provisioning("/p", "http://p", "15s"),
                 writer=lambda path, text: written.append(path),
                 promql=lambda exprs: {0: "parse error: boom"})
    assert written == []
    assert "target-promql-rule" in str(failed.value) and "boom" in str(failed.value)
