"""The control plane's own Prometheus metrics, on an injected registry."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controlplane.decide import Action, Verdict
from controlplane.health import Health

REGION_UP = "covenant_region_up"  # the SLOs' availability series (slo/specs) reads it
_STATE_VALUE = {Health.HEALTHY: 0, Health.DEGRADED: 1, Health.DOWN: 2, Health.RECOVERING: 3}


class ControlPlaneMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.region_up = Gauge(REGION_UP, "1 while the region is healthy and "
                               "serving its own traffic.", ["region"], registry=registry)
        self.region_state = Gauge("covenant_region_state", "0 healthy, 1 degraded, 2 down, "
                                  "3 recovering.", ["region"], registry=registry)
        self.reconcile_seconds = Histogram(
            "covenant_reconcile_duration_seconds", "Wall time of one observe-decide-act pass.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=registry)
        self.actions = Counter("covenant_actions_total", "Actions taken, by kind.", ["kind"],
                               registry=registry)
        self.leader = Gauge("covenant_leader", "1 while this replica holds the lease.",
                            registry=registry)

    def observe_cycle(self, seconds: float, verdicts: Sequence[Verdict],
                      actions: Sequence[Action], leading: bool) -> None:
        self.reconcile_seconds.observe(seconds)
        self.leader.set(1 if leading else 0)
        for v in verdicts:
            self.region_up.labels(region=v.region).set(1 if v.state is Health.HEALTHY else 0)
            self.region_state.labels(region=v.region).set(_STATE_VALUE[v.state])
        for a in actions:
            self.actions.labels(kind=a.kind.value).inc()
