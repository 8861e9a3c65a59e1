"""Optional inputs to ``decide()`` from the SLO policy and the anomaly detector.

Each source turns what its package computes into plain per-region reasons; ``decide()``
only acts on them when desired state says so (``slo.enforce``, ``anomaly.
treat_sustained_as_bad``), so wiring a source in changes nothing until it is switched on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from controlplane.metrics import REGION_UP
from controlplane.observation import RegionObservation
from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.exposition import MetricsSource, Sample
from slo.policy import MIN_ELAPSED_SHARE, MIN_EVENTS

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from controlplane.decide import OpenIncident
    from slo.budget import BudgetStatus
    from slo.cycle import CycleResult
    from slo.incidents import IncidentWindow
    from slo.policy import Incident, PolicyDecision

# Where budgets and verdicts go for `covenant slo gate/status` (e.g. ``SloStore.record``):
# (budgets, decisions, prune rows older than this time).
Recorder = Callable[[Sequence["BudgetStatus"], Sequence["PolicyDecision"], float], None]
RECORD_EVERY_S = 60.0  # a snapshot a minute is what the gate and status need
RECORD_KEEP_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Signals:
    slo_breaches: Mapping[str, str] = field(default_factory=dict)  # region -> reason
    anomalies: Mapping[str, str] = field(default_factory=dict)     # region -> reason
    chaos_freeze: str = ""  # non-empty: the SLO policy froze chaos, and why


class SignalSource(Protocol):
    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        """What this source says this cycle (called once per pass, after observing)."""


class PlotSource(Protocol):
    def plot_job(self, region: str) -> Callable[[], bytes] | None:
        """A closure drawing the region's anomalous series to PNG (run off the event loop),
        or None when it has no sustained anomaly this cycle."""


class StaticSignals:
    def __init__(self, fixed: Signals | None = None) -> None:
        self.fixed = fixed or Signals()

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        return self.fixed


class SloPolicySignals:
    """``slo.policy.evaluate`` over the current budgets and incidents: exhausted budgets per
    region, and the policy's chaos freeze. A budget without a region (a global SLO) only
    feeds the policy; a budget on too little data (``slo.policy.data_shortfall``: a young
    system's first slow requests) marks nothing, as the policy freezes nothing on it."""

    def __init__(self, budgets: Callable[[], Sequence[BudgetStatus]],
                 incidents: Callable[[], Sequence[Incident]] = tuple) -> None:
        self._budgets = budgets
        self._incidents = incidents

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        from slo.policy import evaluate

        budgets = self._budgets()
        return policy_signals(budgets, evaluate(budgets, self._incidents(), now))


@dataclass(frozen=True, slots=True)
class MinimumData:
    """What the policy needs before it acts on a budget (``slo.policy``'s defaults: 1,000
    events and 2% of the period); desired state may lower them (``slo.min_events``...)."""

    events: float = MIN_EVENTS
    elapsed_share: float = MIN_ELAPSED_SHARE


def policy_signals(budgets: Sequence[BudgetStatus], decisions: Sequence[PolicyDecision],
                   minimums: MinimumData | None = None) -> Signals:
    """What the reconciler takes from one cycle of the budget policy: the regions whose
    budget is exhausted (on enough data) and the policy's chaos freeze, if any."""
    from slo.policy import DecisionKind, data_shortfall

    m = minimums or MinimumData()
    breaches: dict[str, str] = {}
    for b in budgets:
        if b.exhausted and b.region and not data_shortfall(b, m.events, m.elapsed_share):
            breaches.setdefault(b.region, f"{b.slo_id} error budget exhausted "
                                        f"({b.consumed:.0%} of it spent)")
    freeze = next((d.reason for d in decisions if d.kind is DecisionKind.FREEZE_CHAOS), "")
    return Signals(slo_breaches=breaches, chaos_freeze=freeze)


class CombinedSignals:
    def __init__(self, *sources: SignalSource) -> None:
        self._sources = sources

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        breaches: dict[str, str] = {}
        anomalies: dict[str, str] = {}
        freeze = ""
        for source in self._sources:
            s = source.signals(observations, now)
            breaches.update({k: v for k, v in s.slo_breaches.items() if k not in breaches})
            anomalies.update({k: v for k, v in s.anomalies.items() if k not in anomalies})
            freeze = freeze or s.chaos_freeze
        return Signals(breaches, anomalies, freeze)


class SloBudgetSignals:
    """Live budgets for the policy: each cycle's scrapes go into ``slo.tracker.BudgetTracker``
    (with ``covenant_region_up`` from the probes), and ``SloPolicySignals`` reads its status.

    ``feed`` is the observer's ``on_scrape`` hook: the samples the observer already parsed;
    or, with ``COVENANT_PROMETHEUS_URL``, a :class:`PrometheusFeed`'s latest instant query.
    Samples are cumulative counters, so a pass that sees the same ones again adds nothing.
    """

    def __init__(self, tracker: Any, recorder: Recorder | None = None,
                 incidents: Callable[[], Sequence[IncidentWindow]] = tuple,
                 minimums: MinimumData | None = None) -> None:
        self._tracker = tracker
        self._minimums = minimums or MinimumData()
        self._samples: dict[str, Sequence[Sample]] = {}
        # Other sources' latest cumulative samples per region (the front door's own 5xx
        # answers, ``feed_extra``): kept, not popped, as re-reading a counter adds nothing.
        self._extra: dict[str, Sequence[Sample]] = {}
        self.fed = 0  # feeds so far (tests and the Prometheus feed wait on it)
        self.incidents = incidents  # the reconciler's open incidents (wired after it exists)
        # A day of minute snapshots: what each open incident has consumed is read off them.
        self._history: deque[BudgetStatus] = deque()
        self._now = 0.0
        self._recorder = recorder
        self._next_record_at = -math.inf
        self.recording: asyncio.Future[None] | None = None  # the snapshot being written

    @classmethod
    def default(cls, recorder: Recorder | None = None,
                incidents: Callable[[], Sequence[IncidentWindow]] = tuple,
                minimums: MinimumData | None = None) -> SloBudgetSignals:
        """The shipped core-API SLOs (``slo/specs/core-api.yaml``)."""
        from slo.spec import default_spec_path, load_group
        from slo.tracker import BudgetTracker

        return cls(BudgetTracker(load_group(default_spec_path()).slos), recorder, incidents,
                   minimums)

    def feed(self, region: str, samples: Sequence[Sample], at: float) -> None:
        self._samples[region] = samples
        self.fed += 1

    def feed_extra(self, region: str, samples: Sequence[Sample], at: float) -> None:
        """Counters about ``region`` from elsewhere than its own scrape (e.g. the front
        door's ``http_requests_total{source="frontdoor"}``): ingested with each cycle's
        scrape, and also while the region cannot be scraped at all."""
        self._extra[region] = samples

    def _status(self) -> Sequence[BudgetStatus]:
        return self._tracker.status(self._now)  # type: ignore[no-any-return]

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        for region, obs in observations.items():
            samples = [*self._samples.pop(region, ()), *self._extra.get(region, ())]
            if not any(s.name == REGION_UP for s in samples):  # Prometheus has it already
                up = 1.0 if obs.status.value == "up" else 0.0
                samples.append(Sample(REGION_UP, {"region": region}, up))
            self._tracker.ingest(region, samples, now)
        self._now = now
        from slo.cycle import budget_cycle

        m = self._minimums
        cycle = budget_cycle(self._tracker, None, self._policy_incidents(), now,
                             min_events=m.events, min_elapsed_share=m.elapsed_share)
        self._record(cycle, now)
        return policy_signals(cycle.budgets, cycle.decisions, m)

    def _remember(self, budgets: Sequence[BudgetStatus], now: float) -> None:
        self._history.extend(budgets)
        while self._history and self._history[0].at < now - RECORD_KEEP_S:
            self._history.popleft()

    def _policy_incidents(self) -> Sequence[Incident]:
        from slo.incidents import incidents_for_policy

        windows = self.incidents()
        if not windows:
            return ()
        return incidents_for_policy(windows, [*self._history, *self._status()])

    def _record(self, cycle: CycleResult, now: float) -> None:
        """Keep a snapshot once a minute (incidents' budget use is read off them) and hand it
        to the recorder in a worker thread (I/O stays out of the pass); skipped while the
        previous one is still being written."""
        if now < self._next_record_at or (
                self.recording is not None and not self.recording.done()):
            return
        self._next_record_at = now + RECORD_EVERY_S
        self._remember(cycle.budgets, now)
        if self._recorder is None:
            return
        self.recording = asyncio.get_running_loop().run_in_executor(
            None, self._recorder, cycle.budgets, cycle.decisions, now - RECORD_KEEP_S)
        self.recording.add_done_callback(_log_failure)


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("could not record SLO budgets: %s; `covenant slo gate` reads the "
                    "previous snapshot", done.exception())


class PrometheusFeed:
    """SLIs from Prometheus instead of the observer's own scrapes: every ``interval_s`` one
    instant query per region (``slo.metrics_source.PrometheusSource``), in a worker thread,
    fed to the budgets the way the observer feeds its scrapes. A failed query keeps the last
    samples and says so once, rather than ending the loop."""

    def __init__(self, source: MetricsSource, regions: Sequence[str],
                 budgets: SloBudgetSignals, interval_s: float = 1.0,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self._source, self._regions, self._budgets = source, tuple(regions), budgets
        self._interval_s, self._clock = interval_s, clock
        self.failures = 0

    async def poll(self) -> None:
        """One query per region, now."""
        for region in self._regions:
            try:
                samples = await asyncio.to_thread(self._source.collect, region)
            except Exception as exc:  # noqa: BLE001 - Prometheus down must not stop the loop
                self.failures += 1
                if self.failures == 1:
                    log.warning("SLIs from Prometheus unavailable (%s); budgets keep the last "
                                "samples until it answers", exc)
                continue
            self._budgets.feed(region, samples, self._clock.time())

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval_s)


# A region's incident as the policy ranks it: a region down is a P1 (P0 is kept for a
# global outage or a security incident, which people declare), degraded a P2.
PRIORITY_OF_SEVERITY = {"down": "P1", "degraded": "P2"}


def incident_windows(incidents: Iterable[OpenIncident], service: str = "core-api"
                     ) -> list[IncidentWindow]:
    """The reconciler's open incidents as the SLO policy's incident windows."""
    from slo.incidents import IncidentWindow

    return [IncidentWindow(i.incident_id, service, PRIORITY_OF_SEVERITY.get(i.severity, "P3"),
                           False, i.opened_at, None, i.region) for i in incidents]
