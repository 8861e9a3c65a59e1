"""The core API's contract with whoever supervises it: probe paths, metric names and
labels, event subjects and headers.

This is the only module of ``core_api`` the supervisor (control plane, SLOs, dashboards,
runbooks) may import (an import-linter contract holds it to that). It imports nothing, so
importing it never starts the service's machinery. Changing a value here is an interface
change: dashboards, rules, probes and runbooks read these names.
"""

from __future__ import annotations

# Probes. /live never touches a dependency and is never faulted; /ready and /health do.
LIVE_PATH = "/live"
READY_PATH = "/ready"
HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"
PROBE_PATHS: tuple[str, ...] = (LIVE_PATH, READY_PATH, HEALTH_PATH)
# The control plane's own traffic: left out of the users' latency.
NOT_USER_ROUTES: frozenset[str] = frozenset({*PROBE_PATHS, METRICS_PATH})
# Fault injection (mounted only when settings.fault_injection): POST {"error_rate": ...}.
CHAOS_PREFIX = "/_chaos/"
CHAOS_FAULT_PATH = "/_chaos/fault"
FAULT_HEADER = "x-covenant-fault"

# RED metrics, labelled (region, route, method, status); route is the template, not the path.
REQUESTS = "http_requests"                       # a counter: exposed as ..._total
REQUESTS_TOTAL = "http_requests_total"
DURATION = "http_request_duration_seconds"       # a histogram
DURATION_BUCKET = "http_request_duration_seconds_bucket"
DURATION_COUNT = "http_request_duration_seconds_count"
DURATION_SUM = "http_request_duration_seconds_sum"
RED_LABELS: tuple[str, ...] = ("region", "route", "method", "status")
DURATION_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "<unmatched>"
# Gauges read at scrape time.
DB_POOL = "db_pool_connections"                  # labels (region, state)
DB_POOL_STATES: tuple[str, ...] = ("size", "checked_out", "checked_in", "overflow")
OUTBOX_PENDING = "outbox_pending_events"         # labels (region,)
# Whether the region's optional dependencies answer, labels (region,): 1 or 0, checked in
# the background about every second. Exported only when the dependency is configured (Redis,
# NATS), so a region without them (the in-process default) never reads as one that lost them.
CACHE_UP = "cache_up"                            # its Redis answers PING
EVENT_BUS_UP = "event_bus_up"                    # its NATS is connected, JetStream stream in place

# Events: covenant.<region>.<entity>.<verb>, published through the outbox.
EVENT_ROOT = "covenant"


def event_subject(region: str, entity: str, verb: str) -> str:
    return f"{EVENT_ROOT}.{region}.{entity}.{verb}"


def region_events(region: str) -> str:
    """The wildcard of every event a region publishes."""
    return f"{EVENT_ROOT}.{region}.>"


# Routing headers the front door sets or honours.
COUNTRY_HEADER = "x-covenant-country"
REGION_HEADER = "x-covenant-region"
HOME_HEADER = "x-covenant-home"
SERVED_BY_HEADER = "x-covenant-served-by"

# Ids of a region's own entities (projects, users) name their home region: "syd-61". The
# front door routes /v1/projects/{id} and /v1/users/{id} by the prefix; no two regions can
# mint the same id.
ID_SEPARATOR = "-"
IDEMPOTENCY_HEADER = "idempotency-key"
# On a response replayed for a repeated Idempotency-Key (the first one created; this one did not).
IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed"


def region_id(region: str, number: int) -> str:
    return f"{region}{ID_SEPARATOR}{number}"


def region_of_id(entity_id: str) -> str | None:
    """The home region an id names ("syd-61" -> "syd"), or None when it names none."""
    region, sep, number = entity_id.partition(ID_SEPARATOR)
    if not sep or not number.isdigit() or not region.isalpha() or not region.islower():
        return None
    return region
