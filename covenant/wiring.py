"""What the composition root hands the supervisor from the service: data the control plane
needs but must not import from ``core_api`` itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from anomaly.detector import AnomalyDetector
from controlplane.anomalies import AnomalySignals
from controlplane.observe import ScrapeHook
from controlplane.signals import (
    CombinedSignals,
    MinimumData,
    PrometheusFeed,
    Recorder,
    SignalSource,
    SloBudgetSignals,
)
from kernel.regions import REGION_CODES
from slo.incidents import IncidentWindow
from slo.metrics_source import PrometheusSource


def country_homes() -> dict[str, str]:
    """ISO3 (and ISO2) code -> home region, from the core API's countries data: the front
    door's routing map."""
    from core_api.countries import load_countries

    homes: dict[str, str] = {}
    for c in load_countries():
        homes[c.iso3] = c.home_region
        homes[c.iso2] = c.home_region
    return homes


def extra_feed(on_scrape: ScrapeHook) -> ScrapeHook | None:
    """Where counters about a region from elsewhere than its own scrape go (the front door's
    own 503s): the SLO budgets' ``feed_extra`` when ``on_scrape`` feeds budgets, else None
    (with Prometheus, the front door is one of its scrape targets instead)."""
    budgets = getattr(on_scrape, "__self__", None)
    return budgets.feed_extra if isinstance(budgets, SloBudgetSignals) else None


class SignalWiring(NamedTuple):
    source: SignalSource | None           # what the reconciler asks each pass
    on_scrape: ScrapeHook | None          # the observer's hook feeding the SLO budgets
    prometheus: PrometheusFeed | None     # or Prometheus feeding them (a task to run)


def signals_for(enforce_slo: bool, watch_anomalies: bool,
                anomalies: SignalSource | None = None, slo_recorder: Recorder | None = None,
                prometheus_url: str | None = None,
                regions: Sequence[str] = REGION_CODES,
                incidents: Callable[[], Sequence[IncidentWindow]] = tuple,
                minimums: MinimumData | None = None) -> SignalWiring:
    """The sources desired state switches on, and what feeds them: the observer's scrapes,
    or Prometheus when ``prometheus_url`` is set (``COVENANT_PROMETHEUS_URL``).

    ``anomalies`` (e.g. ``controlplane.anomalies.AnomalySignals`` with gauges and persisted
    models) is watched even when ``watch_anomalies`` is off: ``decide()`` ignores its
    reasons unless desired state says ``anomaly.treat_sustained_as_bad``."""
    sources: list[SignalSource] = []
    on_scrape, feed = None, None
    if enforce_slo:
        budgets = SloBudgetSignals.default(slo_recorder, incidents, minimums)
        sources.append(budgets)
        if prometheus_url:
            feed = PrometheusFeed(PrometheusSource(prometheus_url), regions, budgets)
        else:
            on_scrape = budgets.feed
    if anomalies is not None:
        sources.append(anomalies)
    elif watch_anomalies:
        sources.append(AnomalySignals(AnomalyDetector()))
    if not sources:
        return SignalWiring(None, None, None)
    return SignalWiring(CombinedSignals(*sources), on_scrape, feed)
