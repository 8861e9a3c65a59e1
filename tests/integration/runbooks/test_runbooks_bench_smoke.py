"""`covenant bench runbooks` end to end on a small scale: the control plane process starts,
every phase runs, one JSON object comes out, and duplicates never make a second run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.runbooks import run_cli


def test_the_benchmark_runs_and_counts_one_run_per_alert(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    figures = run_cli(True, latency_samples=5, distinct=24, copies=4, concurrency=8,
                      runs_in_store=400, data_dir=tmp_path, settle_s=0)
    assert figures["runs_created"] == figures["runs_with_their_alert"] == 24
    assert figures["runs_equal_distinct_alerts"] is True
    assert figures["notifications"] == 96 and figures["runs_listed_all"] == 400
    assert sum(figures["decisions"].values()) == 96 + figures["repeats_sent"]
    assert set(figures["targets_met"]) == {"alert_to_first_step", "overhead", "throughput",
                                           "dedup_exact", "paging", "rss"}
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("{")
