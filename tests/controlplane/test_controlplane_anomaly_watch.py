"""The anomaly watch end to end on a fake clock: latency, 5xx ratio and traffic per region
into the detector, sustained anomalies into decide(), incidents carrying a plot served by the
API, gauges on /metrics, background refits persisted and restored."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

import httpx
import pytest
from prometheus_client import CollectorRegistry

from controlplane.actuators import LocalRouter
from controlplane.anomalies import AnomalyWatch, build_anomaly_watch
from controlplane.api import HealthPublic, create_api
from controlplane.desired import AnomalyPolicy, DesiredState, HealthPolicy, default_desired
from controlplane.health import Health
from controlplane.leader import Lease, build_lease
from controlplane.metrics import ControlPlaneMetrics
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.observe import Observer
from controlplane.reconciler import Reconciler
from controlplane.store import StateStore
from tests.clocks import ListClock

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHIFT_AT = 190  # cycles of normal first: the detector's first fit needs 150 points

Shape = Callable[[int, random.Random], tuple[float, int, int]]  # latency_s, requests, 5xx


def normal(i: int, rnd: random.Random) -> tuple[float, int, int]:
    return 0.02 + rnd.gauss(0, 0.0015), 100 + int(rnd.gauss(0, 3)), rnd.choice((0, 0, 0, 1))


def latency_shift(i: int, rnd: random.Random) -> tuple[float, int, int]:
    latency, requests, errors = normal(i, rnd)
    # 250 ms: below the 400 ms "slow" threshold, so only the detector can see it.
    return (0.25 + rnd.gauss(0, 0.0015) if i >= SHIFT_AT else latency), requests, errors


def error_burst(i: int, rnd: random.Random) -> tuple[float, int, int]:
    latency, requests, errors = normal(i, rnd)
    return latency, requests, (4 if i >= SHIFT_AT else errors)  # 4 %: under the 5 % rule


def traffic_drop(i: int, rnd: random.Random) -> tuple[float, int, int]:
    latency, requests, errors = normal(i, rnd)
    return latency, (20 + int(rnd.gauss(0, 1)) if i >= SHIFT_AT else requests), 0


class ScriptedObserver:
    """Stands in for ``Observer``: one observation per region per cycle, one region shaped."""

    def __init__(self, desired: DesiredState, clock: list[float], sick: str,
                 shape: Shape) -> None:
        self._names = desired.region_names()
        self._clock, self._sick, self._shape = clock, sick, shape
        self._rnd = random.Random(7)
        self.cycle = 0

    async def observe(
        self, healthy: frozenset[str] = frozenset()
    ) -> dict[str, RegionObservation]:
        now, i = self._clock[0], self.cycle
        self.cycle += 1
        out = {}
        for name in self._names:
            latency, requests, errors = (self._shape if name == self._sick else normal)(
                i, self._rnd)
            out[name] = RegionObservation(name, now, ProbeStatus.UP, latency, requests,
                                          errors, True, "", float(requests))
        return out


def _desired() -> DesiredState:
    desired = default_desired(anomaly=AnomalyPolicy(treat_sustained_as_bad=True),
                              health=HealthPolicy(min_dwell_s=0.0))
    return desired.model_copy(update={"regions": desired.regions[:2]})  # fewer fits


def _plane(tmp_path: Path, shape: Shape, clock: list[float]
           ) -> tuple[Reconciler, AnomalyWatch, StateStore, CollectorRegistry, Lease]:
    desired = _desired()
    registry = CollectorRegistry()
    watch = build_anomaly_watch(registry, tmp_path / "anomaly", clock=ListClock(clock),
                                refit_interval_s=5.0)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    observer = ScriptedObserver(desired, clock, desired.region_names()[1], shape)
    lease = build_lease(None, tmp_path, "test")
    reconciler = Reconciler(desired, cast(Observer, observer), LocalRouter(), store,
                            lease, ControlPlaneMetrics(registry),
                            signals=watch.source, plots=watch.source, clock=ListClock(clock))
    return reconciler, watch, store, registry, lease


@pytest.mark.parametrize(("shape", "words"), [(latency_shift, "probe latency"),
                                              (error_burst, "5xx ratio"),
                                              (traffic_drop, "request rate")])
async def test_sustained_anomaly_opens_an_incident_with_its_plot(
        tmp_path: Path, shape: Shape, words: str) -> None:
    clock = [1_700_000_000.0]
    reconciler, watch, store, registry, lease = _plane(tmp_path, shape, clock)
    well, sick = reconciler.desired.region_names()
    try:
        for _ in range(SHIFT_AT + 20):
            decision = await reconciler.run_once()
            await watch.refitter.tick()  # the background task's step, between passes
            clock[0] += 1.0
            if sick in store.open_incidents():
                break
        assert watch.refitter.refits > 0
        assert reconciler.state.regions[sick].state is Health.DEGRADED
        assert reconciler.state.regions[well].state is Health.HEALTHY
        assert decision.state.incidents.keys() == {sick}
        assert f"sustained anomaly: {words}" in reconciler.state.regions[sick].last_problem

        api = create_api(store, registry, lambda: None,
                         lambda: HealthPublic(status="ok", leader=True, passes=0))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api),
                                     base_url="http://cp") as client:
            [incident] = (await client.get("/v1/incidents")).json()
            plot = await client.get(incident["plot_url"])
            missing = await client.get("/v1/incidents/inc-nope/plot.png")
            metrics = (await client.get("/metrics")).text
        assert incident["region"] == sick and words in incident["summary"]
        assert incident["plot_url"] == f"/v1/incidents/{incident['id']}/plot.png"
        assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
        assert plot.content.startswith(PNG_MAGIC) and len(plot.content) > 5000
        assert missing.status_code == 404 and "has no plot" in missing.json()["detail"]
        for name in ("covenant_anomaly_band_lower", "covenant_anomaly_band_upper",
                     "covenant_anomaly_score"):
            for metric in ("latency_ms", "error_ratio", "traffic_rps"):
                assert f'{name}{{metric="{metric}",region="{sick}"}}' in metrics
    finally:
        lease.release()
        store.close()


async def test_refit_runs_off_the_pass_and_a_restart_loads_the_models(tmp_path: Path) -> None:
    clock = [1_700_000_000.0]
    reconciler, watch, store, _registry, lease = _plane(tmp_path, latency_shift, clock)
    detector = watch.source.detector
    threads: list[int] = []
    refit_due = detector.refit_due

    def spy(workers: int = 1) -> int:
        threads.append(threading.get_ident())
        return refit_due(workers)

    detector.refit_due = spy  # type: ignore[method-assign]
    try:
        for _ in range(160):
            await reconciler.run_once()
            clock[0] += 1.0
        assert detector.fits == 0 and len(detector.due()) == 6  # passes never fit
        assert await watch.refitter.tick() == 6
        assert await watch.refitter.tick() == 0  # the schedule: not again before 5 s
        assert threads and threads[0] != threading.get_ident()
        saved = sorted(p.name for p in (tmp_path / "anomaly").iterdir())
        assert len(saved) == 6 and all(n.endswith(".json") for n in saved)
    finally:
        lease.release()
        store.close()

    restarted = build_anomaly_watch(CollectorRegistry(), tmp_path / "anomaly",
                                    clock=ListClock(clock))
    assert restarted.restored == 6
    assert restarted.source.detector.due() == []
    key = detector.keys()[0]
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(clock[0], UTC)
    restored_band = restarted.source.detector.band(key.region, key.metric, at)
    assert restored_band[0] < restored_band[1]


async def test_a_restart_replays_the_recorded_cycles_into_a_warm_watch(tmp_path: Path) -> None:
    """With no saved models at all, the recorded cycles alone give the new watch its
    history: the same series values, a refit due at once, and bands after that refit."""
    clock = [1_700_000_000.0]
    reconciler, watch, store, _registry, lease = _plane(tmp_path, normal, clock)
    try:
        for _ in range(160):
            await reconciler.run_once()
            clock[0] += 1.0
        history = store.history(2000)
    finally:
        lease.release()
        store.close()

    fresh = build_anomaly_watch(CollectorRegistry(), tmp_path / "elsewhere",
                                clock=ListClock(clock))
    assert fresh.restored == 0 and fresh.source.detector.due() == []
    # Two regions x 160 cycles x (latency, 5xx ratio, rate), each as the live watch had it.
    assert fresh.source.replay(history) == 2 * (160 + 160 + 160)
    for region in reconciler.desired.region_names():
        for metric in ("latency_ms", "error_ratio", "traffic_rps"):
            live = [round(p.value, 9) for p in watch.source.series(region, metric)]
            replayed = [round(p.value, 9) for p in fresh.source.series(region, metric)]
            assert replayed == live, metric
    assert fresh.source.signals({}, clock[0]).anomalies == {}  # replay flags nothing
    assert len(fresh.source.detector.due()) == 6
    assert fresh.source.detector.refit_due() == 6
    from datetime import UTC, datetime

    lower, upper = fresh.source.detector.band(
        "ams", "latency_ms", datetime.fromtimestamp(clock[0], UTC))
    assert lower < 20.0 < upper  # normal latency is 20 ms
