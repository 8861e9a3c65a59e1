"""``covenant dashboards build | lint | preview`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from covenant.cli import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["dashboards", *args])
    return result.exit_code, result.output


def test_build_writes_dashboards_lint_file_and_provisioning(tmp_path: Path) -> None:
    code, out = _run("build", "--out", str(tmp_path), "--skip-promql",
                     "--prometheus-url", "http://prom:9090", "--scrape-interval", "5s")
    assert code == 0, out
    assert len(list((tmp_path / "dashboards").glob("*.json"))) == 10
    assert (tmp_path / "dashboards" / ".lint").exists()
    provider = (tmp_path / "provisioning" / "dashboards" / "covenant.yaml").read_text()
    assert f"path: {(tmp_path / 'dashboards').resolve()}" in provider
    datasource = (tmp_path / "provisioning" / "datasources" / "covenant.yaml").read_text()
    assert "url: http://prom:9090" in datasource and "timeInterval: 5s" in datasource


def test_lint_passes_the_build_and_fails_a_broken_dashboard(tmp_path: Path) -> None:
    _run("build", "--out", str(tmp_path), "--skip-promql")
    code, out = _run("lint", str(tmp_path), "--skip-promql")
    assert code == 0 and "10 dashboards, 0 problems" in out
    path = tmp_path / "dashboards" / "covenant-overview.json"
    d = json.loads(path.read_text())
    d["panels"][1]["targets"][0]["expr"] = "rate(http_requests_total[5m])"
    path.write_text(json.dumps(d))
    code, out = _run("lint", str(tmp_path), "--skip-promql")
    assert code == 1
    assert "covenant-overview.json: [target-rate-interval-rule] dashboard 'Covenant / " \
           "Overview', panel 'Request rate'" in out


def test_lint_names_an_empty_folder(tmp_path: Path) -> None:
    code, out = _run("lint", str(tmp_path), "--skip-promql")
    assert code == 1 and "no dashboard *.json files" in out


def test_preview_names_an_unknown_dashboard(tmp_path: Path) -> None:
    code, out = _run("preview", "covenant-nope", "--out", str(tmp_path))
    assert code == 1 and "no dashboard 'covenant-nope'; use one of covenant-overview" in out


def test_preview_refuses_a_malformed_variable(tmp_path: Path) -> None:
    code, out = _run("preview", "covenant-overview", "--out", str(tmp_path), "--var", "region")
    assert code == 1 and "write NAME=VALUE" in out
