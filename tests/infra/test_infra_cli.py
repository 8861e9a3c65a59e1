"""``covenant infra generate``: the files, the webhook token options."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from typer.testing import CliRunner

from covenant.cli import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["infra", "generate", *args])
    return result.exit_code, result.output


def test_generate_writes_configs_rules_and_a_new_token(tmp_path: Path) -> None:
    code, out = _run("--out", str(tmp_path), "--no-check", "--scrape-interval", "5s")
    assert code == 0, out
    assert "15 rule files" in out and "new webhook token" in out
    token = tmp_path / "alertmanager" / "webhook-token"
    assert len(token.read_text().strip()) >= 32
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    config = yaml.safe_load((tmp_path / "prometheus" / "prometheus.yml").read_text())
    assert config["global"]["scrape_interval"] == "5s"


def test_a_given_token_is_written(tmp_path: Path) -> None:
    code, out = _run("--out", str(tmp_path), "--no-check", "--webhook-token", "abc")
    assert code == 0 and "new webhook token" not in out
    assert (tmp_path / "alertmanager" / "webhook-token").read_text() == "abc\n"


def test_a_token_file_is_referenced_not_copied(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("k\n")
    code, out = _run("--out", str(tmp_path / "out"), "--no-check",
                     "--webhook-token-file", str(secret))
    assert code == 0, out
    am = yaml.safe_load((tmp_path / "out" / "alertmanager" / "alertmanager.yml").read_text())
    hook = am["receivers"][0]["webhook_configs"][0]
    assert hook["http_config"]["authorization"]["credentials_file"] == str(secret.resolve())
    assert not (tmp_path / "out" / "alertmanager" / "webhook-token").exists()


def test_both_token_options_are_refused(tmp_path: Path) -> None:
    code, out = _run("--out", str(tmp_path), "--webhook-token", "a",
                     "--webhook-token-file", str(tmp_path))
    assert code == 1 and "not both" in out
