"""The rule emulator behind `slo simulate` (promtool confirms it in the integration tests)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from covenant.cli import app
from slo.promfn import STEP, prom_rate
from slo.promtest import outage_bound
from slo.simulate import Scenario, SimulationError, simulate
from slo.spec import default_spec_path, load_group, parse_spec, to_model


def test_prom_rate_matches_prometheus_extrapolation() -> None:
    vals = tuple(float(60 * i) for i in range(20))  # 1/s, sampled every minute from 0
    assert prom_rate(vals, 600, 300) == pytest.approx(1.0)  # window fully covered
    assert prom_rate(vals, 0, 300) is None  # one sample: no rate
    # Series starting inside the window: extrapolated to zero at most (durationToZero).
    assert prom_rate(vals, 120, 300) == pytest.approx(120 / 300)
    late = tuple(1000.0 + 60 * i for i in range(20))
    # Start gap 180s > 1.1 * 60s: extrapolate half an interval only.
    assert prom_rate(late, 120, 300) == pytest.approx(120 * (150 / 120) / 300)


def test_simulated_detection_for_the_default_availability_slo() -> None:
    slo = load_group(default_spec_path()).slos[0]  # 99.95%, 30d
    res = simulate(slo, Scenario(0.02, 6 * 3600, 1800, 6 * 3600 + 4 * 3600))
    page = next(t for t in res.timings if t.severity == "page" and t.alert == slo.page.name)
    # 14.4x of 0.05% over 1h needs 0.0072 / 0.02 * 60 = 21.6 min of errors, then for: 2m.
    assert page.detected_at == 6 * 3600 + 22 * 60 + 2 * 60
    assert page.reset_at is not None and page.reset_at > 6 * 3600 + 1800
    assert res.budget_spent == pytest.approx(0.02 * 30 / (0.0005 * 30 * 1440), rel=1e-6)


def test_total_outage_pages_within_bound_and_1x_never_pages() -> None:
    for slo in load_group(default_spec_path()).slos:
        out = simulate(slo, Scenario(1.0, 0, 3600, 3600))
        det = next(t.detected_at for t in out.timings if t.severity == "page")
        assert det is not None and det <= outage_bound(slo)
        steady = simulate(slo, Scenario(slo.error_budget, 0, 6 * 3600, 6 * 3600))
        assert not any(steady.firing["page"])


def test_events_slis_cannot_be_simulated() -> None:
    spec = {"version": "prometheus/v1", "service": "s", "slos": [
        {"name": "a", "objective": 99, "alerting": {"name": "A"},
         "sli": {"events": {"error_query": "sum(rate(e[{{.window}}]))",
                            "total_query": "sum(rate(t[{{.window}}]))"}}}]}
    with pytest.raises(SimulationError, match="native"):
        simulate(to_model(parse_spec(spec)).slos[0], Scenario(0.1, 0, STEP, 10 * STEP))


def test_cli_simulate() -> None:
    res = CliRunner().invoke(app, ["slo", "simulate", str(default_spec_path()), "--error-ratio",
                                   "0.02", "--for", "30m", "--slo", "availability-ams",
                                   "--warmup", "6h"])
    assert res.exit_code == 0, res.output
    assert "CoreApiAvailability [page]: fires +24m after the errors began" in res.output
    assert "budget spent 2.78%" in res.output
    bad = CliRunner().invoke(app, ["slo", "simulate", str(default_spec_path()),
                                   "--error-ratio", "2", "--for", "30m"])
    assert bad.exit_code == 1 and "--error-ratio" in bad.output
