"""The settings object and the root CLI that every package registers on."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from covenant.cli import app
from kernel.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("COVENANT_DATABASE_URL", "COVENANT_NATS_URL", "COVENANT_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings()
    assert settings.database_url is None
    assert settings.nats_url is None
    assert settings.redis_url is None


def test_yaml_then_overrides_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COVENANT_NATS_URL", raising=False)
    config = tmp_path / "covenant.yaml"
    config.write_text("settings:\n  nats_url: nats://127.0.0.1:4222\n  redis_url: redis://x\n")
    settings = load_settings(config, redis_url="redis://127.0.0.1:6379/0")
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("settings: [1, 2]\n", "'settings' must be a mapping"), ("a: [\n", "not valid YAML"),
     ("- 1\n", "top level must be a mapping")],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "covenant.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=fragment):
        load_settings(config)


def test_missing_config_says_so(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(tmp_path / "absent.yaml")


def test_help_lists_every_command_group() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("bench", "api", "db", "chaos", "slo", "anomaly", "up", "status"):
        assert name in result.output, f"`covenant {name}` missing from --help"
