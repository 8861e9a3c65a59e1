"""`covenant bench api` measures the front door beside the region API in the same run: its
figures are there, every request through it answered (figures: docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from bench.api import run


def test_bench_measures_the_front_door_beside_the_api() -> None:
    result: dict[str, Any] = run(concurrency=4, duration=0.5, rate=50.0)
    door = result["front_door"]
    assert set(door["closed_loop"]) == {"get_country", "create_project"}
    assert set(door["open_loop"]) == {"direct_get_country", "get_country",
                                      "direct_create_project", "create_project"}
    for figures in [*door["closed_loop"].values(), *door["open_loop"].values()]:
        assert figures["requests"] > 0 and figures["errors"] == 0, figures
    assert door["closed_loop"]["get_country"]["ratio_to_direct"] > 0
    assert {"front_door_ratio_at_least_0.7", "front_door_added_p99_at_most_2ms",
            "front_door_write_added_p50_at_most_1ms"} <= set(result["targets"])
    # The writes through the front door went through the region's outbox like the others.
    assert result["outbox"]["outbox_rows"] == result["outbox"]["outbox_published"]
