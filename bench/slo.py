"""`covenant bench slo`: rule generation for many SLOs (+ promtool check) and budget math
over 30 days of 1-minute samples for six regions."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kernel.exposition import Sample
from slo.rules import render_rules
from slo.spec import default_spec_path, load_group, parse_spec, to_model
from slo.tracker import BudgetTracker

REGIONS = ("ams", "iad", "syd", "sin", "sfo", "jnb")


def synthetic_spec(n: int) -> dict[str, Any]:
    """n ratio/latency SLOs over 100 services (a realistic mix, unique alert names)."""
    slos = []
    for i in range(n):
        region = REGIONS[i % len(REGIONS)]
        sli: dict[str, Any] = (
            {"ratio": {"selector": f'region="{region}",route="/r{i}"'}} if i % 2 == 0 else
            {"latency": {"selector": f'region="{region}",route="/r{i}"', "threshold": "0.1"}})
        slos.append({"name": f"slo-{i}", "objective": 99.9, "sli": sli,
                     "time_window": ("30d", "28d", "7d")[i % 3],
                     "alerting": {"name": f"Slo{i}Burn", "runbook_url": "https://rb/x"}})
    return {"version": "prometheus/v1", "service": "bench", "slos": slos}


def bench_generate(n: int, out: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    group = to_model(parse_spec(synthetic_spec(n)))
    t1 = time.perf_counter()
    text = render_rules(group.slos)
    rules = out / "bench.rules.yml"
    rules.write_text(text)
    t2 = time.perf_counter()
    promtool = shutil.which("promtool")
    check_s = -1.0
    if promtool:
        proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                              text=True, check=False)
        check_s = time.perf_counter() - t2
        if proc.returncode != 0:
            raise RuntimeError(f"promtool check rules failed: {proc.stdout[-2000:]}")
    return {"slos": n, "parse_s": round(t1 - t0, 3), "generate_s": round(t2 - t1, 3),
            "parse_and_generate_s": round(t2 - t0, 3),
            "rules": text.count("- record:") + text.count("- alert:"),
            "promtool_check_s": round(check_s, 3)}


def _cycle(region: str, i: int) -> tuple[Sample, ...]:
    base = {"region": region, "route": "/api", "method": "GET"}
    ok, err = 1000.0 * i, float(i // 50)  # a steady trickle of 5xx
    fast = ok + err - float(i // 20)
    return (Sample("http_requests_total", {**base, "status": "200"}, ok),
            Sample("http_requests_total", {**base, "status": "500"}, err),
            Sample("http_request_duration_seconds_bucket", {**base, "le": "0.1"}, fast),
            Sample("http_request_duration_seconds_bucket", {**base, "le": "+Inf"}, ok + err),
            Sample("covenant_region_up", {"region": region}, 0.0 if i % 5000 == 0 else 1.0))


def bench_budget(days: int) -> dict[str, float]:
    tracker = BudgetTracker(load_group(default_spec_path()).slos)
    minutes = days * 1440
    start = 1_700_000_000.0
    t0 = time.perf_counter()
    for i in range(minutes):
        now = start + 60 * i
        for region in REGIONS:
            tracker.ingest(region, _cycle(region, i), now)
    t1 = time.perf_counter()
    statuses = tracker.status(start + 60 * (minutes - 1))
    t2 = time.perf_counter()
    return {"days": days, "regions": len(REGIONS), "samples": minutes * len(REGIONS) * 5,
            "slos": len(statuses), "ingest_s": round(t1 - t0, 3),
            "ingest_per_cycle_us": round((t1 - t0) / minutes * 1e6, 1),
            "status_s": round(t2 - t1, 4),
            "availability_ams_remaining": round(statuses[0].remaining, 4)}


def run(slos: int, days: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        gen = bench_generate(slos, Path(tmp))
    return {"generate": gen, "budget": bench_budget(days)}
