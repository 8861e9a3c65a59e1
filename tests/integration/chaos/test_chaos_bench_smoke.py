"""`covenant bench proxy` end to end at a tiny size: it runs, measures both paths, prints JSON
last. The figures themselves belong to docs/benchmarks.md, not to a timed test."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from controlplane.cli import app


def test_bench_proxy_json_last_line() -> None:
    args = ["bench", "proxy", "--json", "--rounds", "2", "--transfers", "1"]
    args += ["--round-trips", "20", "--connections", "50"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["transfers_per_mode"] == 2 and figures["round_trips_per_mode"] == 40
    assert figures["direct_mb_s"] > 0 and figures["proxied_mb_s"] > 0
    assert figures["proxied_p50_ms"] > 0 and figures["concurrent_errors"] == 0
