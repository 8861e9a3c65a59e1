"""Generated rules, tests and the Alertmanager fragment against the real tools:
promtool check/test rules (Debian prometheus 2.42) and amtool check-config; and simulate's
predicted detection/reset times confirmed by promtool's own evaluation."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from slo.alertmanager import fragment, full_config
from slo.generate import generate
from slo.model import SLO
from slo.promfn import STEP
from slo.promtest import simulation_test
from slo.report import scenario_for
from slo.rules import dump_yaml, render_rules
from slo.simulate import Scenario, simulate
from slo.spec import default_spec_path, load_group, parse_spec, to_model


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; apt-get install prometheus prometheus-alertmanager")
    return path


def _run(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=240,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def test_default_slos_rules_and_tests_pass_promtool(tmp_path: Path) -> None:
    res = generate(load_group(default_spec_path()), tmp_path)
    out = _run(_tool("promtool"), "check", "rules", *map(str, res.rule_files))
    assert out.count("SUCCESS") == 15
    out = _run(_tool("promtool"), "test", "rules", *(p.name for p in res.test_files), cwd=tmp_path)
    assert out.count("SUCCESS") == 15 and "FAILED" not in out


EXTRA = {
    "version": "prometheus/v1", "service": "extra", "labels": {"team": "sre"},
    "slos": [
        {"name": "r28", "objective": 99.9, "time_window": "28d",
         "sli": {"ratio": {"selector": 'region="ams"'}}, "alerting": {"name": "R28"}},
        {"name": "l7", "objective": 99, "time_window": "7d",
         "sli": {"latency": {"selector": 'region="iad"', "threshold": "0.25"}},
         "alerting": {"name": "L7", "runbook_url": "https://rb/l7"}},
        {"name": "cal", "objective": 99.5, "time_window": "calendar-month",
         "sli": {"availability": {"selector": 'region="syd"'}}, "alerting": {"name": "Cal"}},
        {"name": "ts", "objective": 99, "budgeting": "timeslices",
         "timeslice": {"length": "5m", "good_threshold": 0.95},
         "sli": {"ratio": {}}, "alerting": {"name": "Ts", "page_alert": {"for": "0s"}}},
        {"name": "ev", "objective": 99.9,
         "sli": {"events": {"error_query": 'sum(rate(x_total{code="500"}[{{.window}}]))',
                            "total_query": "sum(rate(x_total[{{.window}}]))"}},
         "alerting": {"name": "Ev", "ticket_alert": {"disable": True}}},
        {"name": "raw", "objective": 95,
         "sli": {"raw": {"error_ratio_query": "1 - avg(avg_over_time(up[{{.window}}]))"}},
         "alerting": {"page_alert": {"disable": True}, "ticket_alert": {"disable": True}}},
    ],
}


def test_every_period_kind_and_budgeting_passes_promtool(tmp_path: Path) -> None:
    res = generate(to_model(parse_spec(EXTRA)), tmp_path)
    _run(_tool("promtool"), "check", "rules", *map(str, res.rule_files))
    out = _run(_tool("promtool"), "test", "rules", *(p.name for p in res.test_files), cwd=tmp_path)
    assert out.count("SUCCESS") == 6


def test_alertmanager_fragment_passes_amtool(tmp_path: Path) -> None:
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(dump_yaml(full_config(fragment("http://127.0.0.1:9/page"))))
    out = _run(_tool("amtool"), "check-config", str(cfg))
    assert "SUCCESS" in out and "1 inhibit rules" in out


def _confirm(slo: SLO, sc: Scenario, tmp_path: Path) -> list[tuple[str, int | None, int | None]]:
    """Write a promtool test asserting every predicted time and run it; return the times."""
    res = simulate(slo, sc)
    (tmp_path / "r.rules.yml").write_text(render_rules([slo]))
    (tmp_path / "sim.test.yml").write_text(simulation_test(res, "r.rules.yml"))
    out = _run(_tool("promtool"), "test", "rules", "sim.test.yml", cwd=tmp_path)
    assert "SUCCESS" in out
    return [(t.alert + "/" + t.severity, t.detected_at, t.reset_at) for t in res.timings]


@pytest.mark.parametrize(
    ("slo_name", "error_ratio", "minutes"),
    [("availability-ams", 0.02, 30), ("latency-global", 0.5, 20), ("uptime-global", 0.02, 30)],
)
def test_simulate_times_agree_with_promtool(tmp_path: Path, slo_name: str, error_ratio: float,
                                            minutes: int) -> None:
    slo = next(s for s in load_group(default_spec_path()).slos if s.name == slo_name)
    cli = scenario_for(error_ratio, minutes * 60, 6 * 3600)  # what `slo simulate` runs
    # The same incident with a shorter tail (promtool evaluates every minute of it).
    short = Scenario(cli.error_ratio, cli.start, cli.duration, cli.start + cli.duration + 8 * 3600)
    confirmed = _confirm(slo, short, tmp_path)
    full = {t.alert + "/" + t.severity: t for t in simulate(slo, cli).timings}
    fired = 0
    for key, detected, reset in confirmed:
        assert full[key].detected_at == detected
        if reset is not None:
            assert full[key].reset_at == reset
        fired += detected is not None
    assert fired >= 1  # at least the page fired, and promtool agreed on when


def test_28d_simulation_agrees_with_promtool(tmp_path: Path) -> None:
    slo = to_model(parse_spec(EXTRA)).slos[0]
    times = _confirm(slo, Scenario(0.05, 2 * 3600, 45 * 60, 8 * 3600), tmp_path)
    page = next(t for t in times if t[0].endswith("/page"))
    assert page[1] is not None and page[1] % STEP == 0


def test_bench_command_prints_one_json_object_last() -> None:
    import json

    from typer.testing import CliRunner

    from covenant.cli import app

    res = CliRunner().invoke(app, ["bench", "slo", "--slos", "20", "--days", "1", "--json"])
    assert res.exit_code == 0, res.output
    figures = json.loads(res.output.strip().splitlines()[-1])
    assert figures["generate"]["rules"] == 20 * 21 and figures["generate"]["promtool_check_s"] > 0
    assert figures["budget"]["samples"] == 1440 * 6 * 5


def test_no_traffic_fires_the_no_data_alert_and_nothing_else(tmp_path: Path) -> None:
    slo = load_group(default_spec_path()).slos[0]
    times = dict((k, (d, r)) for k, d, r in
                 _confirm(slo, Scenario(0.0, 0, 0, 3600, requests_per_step=0.0), tmp_path))
    assert times[f"{slo.no_data.name}/ticket"] == (slo.no_data.for_seconds, None)
    assert times[f"{slo.page.name}/page"] == (None, None)
    assert times[f"{slo.exhausted.name}/ticket"] == (None, None)
