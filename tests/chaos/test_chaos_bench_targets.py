"""The proxy benchmark's verdicts against issue 3's targets, decided apart from printing."""

from __future__ import annotations

import dataclasses

import pytest

from bench.proxy import ProxyBenchResult, percentile

BASE = ProxyBenchResult(
    transfer_bytes=1_000_000, transfers_per_mode=100, direct_mb_s=700.0, proxied_mb_s=560.0,
    throughput_ratio=0.8, round_trips_per_mode=10_000, direct_p50_ms=0.02, proxied_p50_ms=0.03,
    direct_p99_ms=0.1, proxied_p99_ms=0.2, added_p99_ms=0.1, concurrent_connections=1000,
    concurrent_errors=0, concurrent_seconds=0.3, nofile_soft_limit=20_000)


@pytest.mark.parametrize(("change", "expected"), [
    ({}, {"throughput": True, "latency": True, "connections": True}),
    ({"throughput_ratio": 0.799}, {"throughput": False, "latency": True, "connections": True}),
    ({"added_p99_ms": 1.0}, {"throughput": True, "latency": False, "connections": True}),
    ({"concurrent_errors": 1}, {"throughput": True, "latency": True, "connections": False}),
])
def test_targets(change: dict[str, float], expected: dict[str, bool]) -> None:
    assert dataclasses.replace(BASE, **change).targets() == expected  # type: ignore[arg-type]


def test_nearest_rank_percentile() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)) == (
        50.0, 99.0, 100.0)
