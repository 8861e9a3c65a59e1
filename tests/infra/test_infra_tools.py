"""A missing Prometheus tool is an error naming its Debian package, before anything starts:
for the generators' checks and for ``covenant up --with-prometheus``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from covenant.cli import app
from infra.errors import InfraError
from infra.tools import alertmanager, prometheus, require


@pytest.fixture()
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.usefixtures("no_tools")
@pytest.mark.parametrize(("find", "says"), [
    (prometheus, "prometheus is not installed: apt-get install prometheus"),
    (alertmanager, "prometheus-alertmanager or alertmanager is not installed: apt-get install "
                   "prometheus-alertmanager"),
    (lambda: require("amtool"), "amtool is not installed: apt-get install "
                                "prometheus-alertmanager"),
])
def test_missing_tools_name_their_package(find: object, says: str) -> None:
    with pytest.raises(InfraError, match=says):
        find()  # type: ignore[operator]


def test_tools_are_found_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "prometheus-alertmanager"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert alertmanager() == str(fake)


@pytest.mark.usefixtures("no_tools")
def test_up_with_prometheus_refuses_to_start_without_it(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVENANT_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["up", "--with-prometheus"])
    assert result.exit_code == 1
    assert "--with-prometheus: prometheus is not installed: apt-get install prometheus" in \
        result.output
    assert not (tmp_path / "data" / "logs").exists()  # nothing was started


@pytest.mark.usefixtures("no_tools")
def test_up_with_prometheus_does_not_probe_the_prometheus_it_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prometheus_url naming the Prometheus --with-prometheus starts (:9090) is not refused
    as "not answering"; every target probed answers "refused" here, so one probed shows."""
    from covenant import preflight

    monkeypatch.setattr(preflight, "_probe", lambda target: "connection refused")
    monkeypatch.setenv("COVENANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COVENANT_PROMETHEUS_URL", "http://localhost:9090")
    monkeypatch.setenv("COVENANT_NATS_URL", "nats://127.0.0.1:4999")
    result = CliRunner().invoke(app, ["up", "--with-prometheus"])
    assert result.exit_code == 1
    assert "NATS is not answering at 127.0.0.1:4999" in result.output  # probed: refused
    assert "Prometheus is not answering" not in result.output
    assert "--with-prometheus: prometheus is not installed" in result.output
