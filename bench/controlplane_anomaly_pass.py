"""CPU of one reconcile pass on six regions with and without the anomaly watch.

The observation is scripted (no network), so the figure isolates what the watch adds to
decide/act/record: 18 series scored against fitted Prophet bands (fitted beforehand by the
refitter, as in production), three gauges each, the sustained checks. Run:

    .venv/bin/python bench/controlplane_anomaly_pass.py [--passes 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import cast

from prometheus_client import CollectorRegistry

from controlplane.actuators import LocalRouter
from controlplane.anomalies import build_anomaly_watch
from controlplane.desired import AnomalyPolicy, default_desired
from controlplane.leader import build_lease
from controlplane.metrics import ControlPlaneMetrics
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.observe import Observer
from controlplane.reconciler import Reconciler
from controlplane.store import StateStore


class _Scripted:
    def __init__(self, names: tuple[str, ...], clock: list[float]) -> None:
        self._names, self._clock, self._rnd = names, clock, random.Random(1)

    async def observe(self) -> dict[str, RegionObservation]:
        r = self._rnd
        return {n: RegionObservation(n, self._clock[0], ProbeStatus.UP,
                                     0.02 + r.gauss(0, 0.0015), 100, r.choice((0, 0, 1)), True,
                                     "", 100.0 + r.gauss(0, 3)) for n in self._names}


async def _passes(workdir: Path, anomaly: bool, warmup: int, passes: int) -> list[float]:
    desired = default_desired(anomaly=AnomalyPolicy(treat_sustained_as_bad=anomaly))
    clock = [1_700_000_000.0]
    registry = CollectorRegistry()
    watch = build_anomaly_watch(registry, workdir / "anomaly", clock=lambda: clock[0])
    store = StateStore(f"sqlite:///{workdir / 'state.db'}")
    lease = build_lease(None, workdir, "bench")
    source = watch.source if anomaly else None
    rec = Reconciler(desired, cast(Observer, _Scripted(desired.region_names(), clock)),
                     LocalRouter(), store, lease, ControlPlaneMetrics(registry),
                     signals=source, plots=source, clock=lambda: clock[0])
    cpu_ms: list[float] = []
    try:
        for i in range(warmup + passes):
            if anomaly and i == warmup:
                await watch.refitter.tick()  # fitted bands, as the background task keeps them
            started = time.process_time()
            await rec.run_once()
            if i >= warmup:
                cpu_ms.append((time.process_time() - started) * 1000)
            clock[0] += 1.0
    finally:
        lease.release()
        store.close()
    return cpu_ms


async def main(passes: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    for anomaly in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            ms = await _passes(Path(tmp), anomaly, 200, passes)
        name = "with_anomaly" if anomaly else "without_anomaly"
        figures[f"pass_cpu_ms_{name}"] = round(statistics.median(ms), 2)
        figures[f"pass_cpu_ms_{name}_p90"] = round(sorted(ms)[int(0.9 * len(ms))], 2)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args.passes))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
