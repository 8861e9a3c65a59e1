"""The benchmark runs end to end against real uvicorn processes (figures: docs/benchmarks.md)."""

from __future__ import annotations

from bench.api import run


def test_bench_measures_both_servers_and_writes_through_the_outbox() -> None:
    result = run(concurrency=4, duration=0.5, rate=50.0)
    closed = result["closed_loop"]
    assert isinstance(closed, dict)
    assert set(closed) == {"bare", "get_country", "list_projects", "create_project"}
    for name, figures in closed.items():
        assert figures["requests"] > 0 and figures["errors"] == 0, name
        assert figures["p99_ms"] >= figures["p50_ms"] > 0, name
    outbox = result["outbox"]
    assert isinstance(outbox, dict)
    created = outbox["projects"] - 82
    assert created > 0 and outbox["outbox_rows"] == created  # one event per write
    assert outbox["outbox_published"] == created  # the run waits for the relay to drain
    assert set(result["targets"]) >= {"read_p99_under_10ms", "writes_at_least_500"}  # type: ignore[arg-type]
