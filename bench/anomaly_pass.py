"""CPU of one reconcile pass on six regions with and without the anomaly watch.

The observation is scripted (no network), so the figure isolates what the watch adds to
decide/act/record: 18 series scored against fitted Prophet bands (fitted beforehand by the
refitter, as in production), three gauges each, the sustained checks. Run:

    covenant bench anomaly-pass [--passes 200] [--json]
"""

from __future__ import annotations

import asyncio
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
from kernel.clock import FakeClock


class _Scripted:
    """Stands in for ``Observer``: the same ``observe(healthy)`` the reconciler calls, with
    healthy regions' figures and no network."""

    def __init__(self, names: tuple[str, ...], clock: FakeClock) -> None:
        self._names, self._clock, self._rnd = names, clock, random.Random(1)

    async def observe(
        self, healthy: frozenset[str] = frozenset()
    ) -> dict[str, RegionObservation]:
        r = self._rnd
        return {n: RegionObservation(n, self._clock.time(), ProbeStatus.UP,
                                     0.02 + r.gauss(0, 0.0015), 100, r.choice((0, 0, 1)), True,
                                     "", 100.0 + r.gauss(0, 3)) for n in self._names}


async def _passes(workdir: Path, anomaly: bool, warmup: int, passes: int) -> list[float]:
    desired = default_desired(anomaly=AnomalyPolicy(treat_sustained_as_bad=anomaly))
    clock = FakeClock(1_700_000_000.0, wall_offset=0.0)
    registry = CollectorRegistry()
    watch = build_anomaly_watch(registry, workdir / "anomaly", clock=clock)
    store = StateStore(f"sqlite:///{workdir / 'state.db'}")
    lease = build_lease(None, workdir, "bench")
    source = watch.source if anomaly else None
    rec = Reconciler(desired, cast(Observer, _Scripted(desired.region_names(), clock)),
                     LocalRouter(), store, lease, ControlPlaneMetrics(registry),
                     signals=source, plots=source, clock=clock)
    cpu_ms: list[float] = []
    try:
        for i in range(warmup + passes):
            if anomaly and i == warmup:
                await watch.refitter.tick()  # fitted bands, as the background task keeps them
            started = time.process_time()
            await rec.run_once()
            if i >= warmup:
                cpu_ms.append((time.process_time() - started) * 1000)
            clock.advance(1.0)
    finally:
        lease.release()
        store.close()
    return cpu_ms


async def measure(passes: int, warmup: int = 200) -> dict[str, float]:
    """Median and p90 CPU ms of ``passes`` reconcile passes (after ``warmup``), without and
    with the anomaly watch."""
    figures: dict[str, float] = {}
    for anomaly in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            ms = await _passes(Path(tmp), anomaly, warmup, passes)
        name = "with_anomaly" if anomaly else "without_anomaly"
        figures[f"pass_cpu_ms_{name}"] = round(statistics.median(ms), 2)
        figures[f"pass_cpu_ms_{name}_p90"] = round(sorted(ms)[int(0.9 * len(ms))], 2)
    return figures


def run(passes: int) -> dict[str, float]:
    return asyncio.run(measure(passes))
