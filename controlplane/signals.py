"""Optional inputs to ``decide()`` from the SLO policy and the anomaly detector.

Each source turns what its package computes into plain per-region reasons; ``decide()``
only acts on them when desired state says so (``slo.enforce``, ``anomaly.
treat_sustained_as_bad``), so wiring a source in changes nothing until it is switched on.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from controlplane.observation import RegionObservation

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from slo.budget import BudgetStatus
    from slo.policy import PolicyDecision

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
    """``slo.policy.evaluate`` over the current budgets: exhausted budgets per region, and
    the policy's chaos freeze. A budget without a region (a global SLO) only feeds the
    policy."""

    def __init__(self, budgets: Callable[[], Sequence[BudgetStatus]]) -> None:
        self._budgets = budgets

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        from slo.policy import DecisionKind, evaluate

        budgets = self._budgets()
        breaches: dict[str, str] = {}
        for b in budgets:
            if b.exhausted and b.region:
                breaches.setdefault(b.region, f"{b.slo_id} error budget exhausted "
                                            f"({b.consumed:.0%} of it spent)")
        freeze = next((d.reason for d in evaluate(budgets, [], now)
                       if d.kind is DecisionKind.FREEZE_CHAOS), "")
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

    ``feed`` is the observer's ``on_scrape`` hook; only the SLI series are parsed.
    """

    def __init__(self, tracker: Any, recorder: Recorder | None = None) -> None:
        self._tracker = tracker
        self._texts: dict[str, str] = {}
        self._policy = SloPolicySignals(self._status)
        self._now = 0.0
        self._recorder = recorder
        self._next_record_at = -math.inf
        self.recording: asyncio.Future[None] | None = None  # the snapshot being written

    @classmethod
    def default(cls, recorder: Recorder | None = None) -> SloBudgetSignals:
        """The shipped core-API SLOs (``slo/specs/core-api.yaml``)."""
        from slo.spec import default_spec_path, load_group
        from slo.tracker import BudgetTracker

        return cls(BudgetTracker(load_group(default_spec_path()).slos), recorder)

    def feed(self, region: str, text: str, at: float) -> None:
        self._texts[region] = text

    def _status(self) -> Sequence[BudgetStatus]:
        return self._tracker.status(self._now)  # type: ignore[no-any-return]

    def signals(self, observations: Mapping[str, RegionObservation], now: float) -> Signals:
        from slo.metrics_source import SLI_METRICS, Sample, parse_exposition

        for region, obs in observations.items():
            text = self._texts.pop(region, "")
            wanted = "\n".join(line for line in text.splitlines()
                               if line.startswith(SLI_METRICS))
            samples = list(parse_exposition(wanted + "\n")) if wanted else []
            up = 1.0 if obs.status.value == "up" else 0.0
            samples.append(Sample("covenant_region_up", {"region": region}, up))
            self._tracker.ingest(region, samples, now)
        self._now = now
        self._record(now)
        return self._policy.signals(observations, now)

    def _record(self, now: float) -> None:
        """Hand a snapshot to the recorder once a minute, in a worker thread (I/O stays out
        of the pass); skipped while the previous one is still being written."""
        if self._recorder is None or now < self._next_record_at or (
                self.recording is not None and not self.recording.done()):
            return
        from slo.policy import evaluate

        self._next_record_at = now + RECORD_EVERY_S
        budgets = tuple(self._status())
        decisions = tuple(evaluate(budgets, [], now))
        self.recording = asyncio.get_running_loop().run_in_executor(
            None, self._recorder, budgets, decisions, now - RECORD_KEEP_S)
        self.recording.add_done_callback(_log_failure)


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("could not record SLO budgets: %s; `covenant slo gate` reads the "
                    "previous snapshot", done.exception())


def signals_for(enforce_slo: bool, watch_anomalies: bool,
                anomalies: SignalSource | None = None, slo_recorder: Recorder | None = None,
                ) -> tuple[SignalSource | None, Callable[[str, str, float], None] | None]:
    """The sources desired state switches on, and the observer hook that feeds them.

    ``anomalies`` (e.g. ``controlplane.anomalies.AnomalySignals`` with gauges and persisted
    models) is watched even when ``watch_anomalies`` is off: ``decide()`` ignores its
    reasons unless desired state says ``anomaly.treat_sustained_as_bad``."""
    sources: list[SignalSource] = []
    on_scrape = None
    if enforce_slo:
        budgets = SloBudgetSignals.default(slo_recorder)
        sources.append(budgets)
        on_scrape = budgets.feed
    if anomalies is not None:
        sources.append(anomalies)
    elif watch_anomalies:
        from anomaly.detector import AnomalyDetector
        from controlplane.anomalies import AnomalySignals

        sources.append(AnomalySignals(AnomalyDetector()))
    if not sources:
        return None, None
    return CombinedSignals(*sources), on_scrape
