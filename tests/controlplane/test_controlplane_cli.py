"""The CLI surface: commands registered, invalid config rejected with file and line,
the status table rendered from API rows, the confirm-probe schedule."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from controlplane.status import regions_table
from covenant.cli import app


def test_commands_registered() -> None:
    runner = CliRunner()
    for args in (["up", "--help"], ["status", "--help"],
                 ["bench", "region-failover", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert "--trials" in runner.invoke(app, ["bench", "region-failover", "--help"]).output
    assert "--config" in runner.invoke(app, ["up", "--help"]).output


def test_up_rejects_an_invalid_config_before_starting_anything(tmp_path: Path) -> None:
    config = tmp_path / "covenant.yaml"
    config.write_text("probe:\n  interval_s: 0\n")
    result = CliRunner().invoke(app, ["up", "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}:2: field 'probe.interval_s'" in result.output


def test_status_table_renders_regions_and_open_incidents() -> None:
    regions = [
        {"region": "ams", "state": "healthy", "latency_ms": 12.0, "error_ratio": 0.0,
         "routed_to": "ams", "line": "ams healthy: up, 12 ms"},
        {"region": "syd", "state": "down", "latency_ms": None, "error_ratio": 0.0,
         "routed_to": "sin", "line": "syd down: connect failed",
         "process": {"pid": 6012, "restarts": 1, "last_exit": "killed by SIGKILL",
                     "running": True}},
    ]
    incidents = [{"id": "inc-syd-1", "region": "syd", "status": "open"}]
    console = Console(record=True, width=160)
    console.print(regions_table(regions, incidents))
    text = console.export_text()
    assert "inc-syd-1" in text and "sin" in text and "12 ms" in text
    assert "syd down: connect failed" in text
    assert "pid 6012, 1 restart(s), last killed by SIGKILL" in text
