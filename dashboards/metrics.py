"""Every metric name the dashboards plot, in one place.

The core API's names come from its contract. The control plane's, the front door's and the
anomaly watch's are written here (``dashboards`` may not import them); a test reads each
real registry and fails when a name here and a name there part ways, or when a metric is
exported that no dashboard plots and :data:`UNPLOTTED` does not explain.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from core_api import contract

# The core API (core_api.contract).
REQUESTS = contract.REQUESTS_TOTAL
DURATION_BUCKET = contract.DURATION_BUCKET
DURATION_SUM = contract.DURATION_SUM
DURATION_COUNT = contract.DURATION_COUNT
DB_POOL = contract.DB_POOL
OUTBOX_PENDING = contract.OUTBOX_PENDING
# Routes that are the supervisor's traffic, not users': left out of user latency.
NOT_USER_ROUTES = "|".join(sorted(contract.NOT_USER_ROUTES))

# The control plane (controlplane.metrics.ControlPlaneMetrics).
REGION_UP = "covenant_region_up"
REGION_STATE = "covenant_region_state"
RECONCILE_BUCKET = "covenant_reconcile_duration_seconds_bucket"
RECONCILE_COUNT = "covenant_reconcile_duration_seconds_count"
ACTIONS = "covenant_actions_total"
LEADER = "covenant_leader"
# covenant_region_state's values (controlplane.metrics._STATE_VALUE).
REGION_STATES: tuple[tuple[int, str, str], ...] = (
    (0, "healthy", "green"), (1, "degraded", "orange"), (2, "down", "red"),
    (3, "recovering", "blue"))

# The front door (controlplane.frontdoor_metrics), served on its own /_frontdoor/metrics.
# Its own answers for a home region that is away (503, 502) it counts in the core API's
# http_requests_total{source="frontdoor"}, so the region's panels and SLOs include them.
FRONTDOOR_REQUESTS = "covenant_frontdoor_requests_total"
FRONTDOOR_RETRIES = "covenant_frontdoor_retries_total"
FRONTDOOR_UNAVAILABLE = "covenant_frontdoor_unavailable_total"
FRONTDOOR_ROUTE_UPDATES = "covenant_frontdoor_route_updates_total"

# The anomaly watch (anomaly.metrics.AnomalyMetrics), labels (region, metric).
BAND_LOWER = "covenant_anomaly_band_lower"
BAND_UPPER = "covenant_anomaly_band_upper"
SCORE = "covenant_anomaly_score"

# The runbook engine on the control plane (controlplane.runbook_metrics.RunbookMetrics).
# status: "started" when a run starts, then its end (succeeded, failed, timed_out, cancelled).
RUNBOOK_RUNS = "covenant_runbook_runs_total"  # labels (runbook, region, status)
RUNBOOK_STEP_FAILURES = "covenant_runbook_step_failures_total"  # labels (runbook, step)
WEBHOOK_DELIVERIES = "covenant_webhook_deliveries_total"  # labels (outcome)

# Metrics a panel plots before any component exports them, and what they will be: such a
# panel is drawn and marked pending; the live test expects it empty and fails once it
# carries data, so whoever adds the metric also removes it from here. Empty today.
PENDING: Mapping[str, str] = MappingProxyType({})

# What the issue asks for that the core API does not export: said on the dashboards and in
# docs/dashboards.md rather than drawn from an invented series.
NOT_AVAILABLE: Mapping[str, str] = MappingProxyType({
    "cache hit ratio": "the read-through cache (core_api/cache.py) counts no hits or misses",
    "events published": "the outbox relay keeps its published count in memory only; the "
                        "dashboards show the outbox backlog and the committed writes that "
                        "enqueue events instead",
    "probe latency (anomaly metric latency_ms)": "the control plane's probe latency is "
                        "scored but not exported; its band and score are plotted",
})

# Exported families no dashboard plots, and why.
UNPLOTTED: Mapping[str, str] = MappingProxyType({
    contract.CACHE_UP: "read by the reconciler (the cache_down verdict, which starts the "
                       "redis-outage runbook) rather than by a person; exported only where "
                       "Redis is configured, so a panel would be empty in the default stack",
    contract.EVENT_BUS_UP: "read by the reconciler (the bus_down verdict, which starts the "
                           "nats-outage runbook); the region dashboard's outbox backlog shows "
                           "what a bus outage does; exported only where NATS is configured",
})
