"""The generated output checked by the real tools: every dashboard query parses with
promtool, prometheus.yml (with the SLO rule files) passes ``promtool check config`` and
alertmanager.yml ``amtool check-config``; broken input fails with the tool's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from covenant.cli import app
from covenant.observability import dashboard_inputs, slo_rule_files
from dashboards.generate import build_all, lint_all
from dashboards.promtool import check_promql
from infra.check import check_alertmanager, check_prometheus
from infra.errors import InfraError
from infra.generate import generate
from infra.model import Endpoints, InfraSpec


def test_every_dashboard_query_parses_with_promtool() -> None:
    inputs = dashboard_inputs()
    assert lint_all(build_all(inputs), inputs, check_promql) == []


def test_promtool_reports_each_bad_expression_by_index() -> None:
    found = check_promql(["up", "sum(rate(x[1m])", "rate(y[5m])", "foo{a=}"])
    assert sorted(found) == [1, 3]
    assert "unclosed left parenthesis" in found[1]


def test_generated_configs_pass_promtool_and_amtool(tmp_path: Path) -> None:
    done = generate(InfraSpec(Endpoints(), slo_rule_files()), tmp_path, token="t")
    assert "SUCCESS: 15 rule files found" in check_prometheus(done.prometheus)
    assert "SUCCESS" in check_alertmanager(done.alertmanager)


def test_broken_configs_fail_with_the_tools_words(tmp_path: Path) -> None:
    done = generate(InfraSpec(Endpoints(), {"bad.rules.yml": "groups: [{name: x, rules: "
                                                             "[{record: a, expr: 'sum('}]}]\n"},
                              scrape_interval="soon"), tmp_path, token="t")
    with pytest.raises(InfraError, match=r"prometheus\.yml does not pass promtool"):
        check_prometheus(done.prometheus)
    done.alertmanager.write_text(done.alertmanager.read_text().replace("receiver: page",
                                                                       "receiver: nobody"))
    with pytest.raises(InfraError, match=r"does not pass amtool:\n.*nobody"):
        check_alertmanager(done.alertmanager)


def test_build_then_lint_with_promtool(tmp_path: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(app, ["dashboards", "build", "--out", str(tmp_path)])
    assert built.exit_code == 0, built.output
    linted = runner.invoke(app, ["dashboards", "lint", str(tmp_path)])
    assert linted.exit_code == 0 and "10 dashboards, 0 problems" in linted.output


def test_infra_generate_checks_with_the_tools(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["infra", "generate", "--out", str(tmp_path),
                                      "--webhook-token", "t"])
    assert result.exit_code == 0, result.output
    assert "checked by promtool and amtool" in result.output
