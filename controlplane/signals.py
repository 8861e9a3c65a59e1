"""Optional inputs to ``decide()`` from the SLO policy and the anomaly detector.

Each source turns what its package computes into plain per-region reasons; ``decide()``
only acts on them when desired state says so (``slo.enforce``, ``anomaly.
treat_sustained_as_bad``), so wiring a source in changes nothing until it is switched on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from controlplane.observation import RegionObservation

if TYPE_CHECKING:
    from slo.budget import BudgetStatus


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

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker
        self._texts: dict[str, str] = {}
        self._policy = SloPolicySignals(self._status)
        self._now = 0.0

    @classmethod
    def default(cls) -> SloBudgetSignals:
        """The shipped core-API SLOs (``slo/specs/core-api.yaml``)."""
        from slo.spec import default_spec_path, load_group
        from slo.tracker import BudgetTracker

        return cls(BudgetTracker(load_group(default_spec_path()).slos))

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
        return self._policy.signals(observations, now)


def signals_for(enforce_slo: bool, watch_anomalies: bool,
                anomalies: SignalSource | None = None,
                ) -> tuple[SignalSource | None, Callable[[str, str, float], None] | None]:
    """The sources desired state switches on, and the observer hook that feeds them.

    ``anomalies`` (e.g. ``controlplane.anomalies.AnomalySignals`` with gauges and persisted
    models) is watched even when ``watch_anomalies`` is off: ``decide()`` ignores its
    reasons unless desired state says ``anomaly.treat_sustained_as_bad``."""
    sources: list[SignalSource] = []
    on_scrape = None
    if enforce_slo:
        budgets = SloBudgetSignals.default()
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
