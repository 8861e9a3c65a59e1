"""`covenant bench proxy` end to end at a tiny size: it runs, measures both paths, prints JSON
last. The figures themselves belong to docs/benchmarks.md, not to a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from covenant.cli import app


def test_bench_proxy_json_last_line() -> None:
    args = ["bench", "proxy", "--json", "--rounds", "2", "--transfers", "1"]
    args += ["--round-trips", "20", "--connections", "50"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["transfers_per_mode"] == 2 and figures["round_trips_per_mode"] == 40
    assert figures["direct_mb_s"] > 0 and figures["proxied_mb_s"] > 0
    assert figures["proxied_p50_ms"] > 0 and figures["concurrent_errors"] == 0


def test_proxy_baselines_relay_and_print_json(tmp_path: Path) -> None:
    """bench/proxy_baselines.py: the C and Python baseline relays carry the echo traffic."""
    script = Path(__file__).resolve().parents[3] / "bench" / "proxy_baselines.py"
    done = subprocess.run(
        [sys.executable, str(script), "--rounds", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == {
        "direct",
        "covenant_proxy",
        "c_threads_relay",
        "python_threads_relay",
        "python_splice_relay",
    }
    assert figures["direct"]["ratio"] == 1.0
    for mode in figures.values():
        assert mode["mb_s"] > 0 and mode["first_ms"] > 0 and mode["steady_ms"] > 0
