"""One dashboard per region, all from this one template: RED per route, the database pool
and the outbox, the region's health and traffic, and its anomaly bands; its incidents and
runbook runs as annotations."""

from __future__ import annotations

from dashboards import metrics as m
from dashboards import queries as q
from dashboards.anomaly import band_panel
from dashboards.common import (
    ANOMALY_UID,
    JOB_RULES,
    MULTI_JOB,
    TAG,
    constant,
    dashboard_url,
    datasource,
    navigation,
    region_uid,
)
from dashboards.inputs import DashboardInputs
from dashboards.model import (
    Annotation,
    Dashboard,
    Link,
    Panel,
    PanelKind,
    Query,
    Row,
    Step,
)
from dashboards.overview import state_texts

HERE = 'region="$region"'
USERS = f'{HERE}, route!~"{m.NOT_USER_ROUTES}"'
SERVED_HERE = 'served="$region"'
HOME_HERE = 'home="$region"'


def red_row() -> Row:
    return Row("Requests per route (RED)", (
        Panel("Request rate per route", "Requests per second by route template and method.",
              PanelKind.TIMESERIES, (Query(q.request_rate(HERE, "route, method"),
                                           "{{method}} {{route}}"),), unit="reqps", width=8),
        Panel("Error ratio per route", "Share of each route's responses that were 5xx.",
              PanelKind.TIMESERIES, (Query(q.error_ratio(HERE, "route"), "{{route}}"),),
              unit="percentunit", thresholds=(Step("green"), Step("orange", 0.0005),
                                              Step("red", 0.01)),
              runbook="error-budget-fast-burn", width=8),
        Panel("p99 latency per route", "99th percentile of request durations by route (users' "
              "routes: probes and scrapes left out).", PanelKind.TIMESERIES,
              (Query(q.p99(HERE, "route"), "{{route}}"),), unit="s",
              thresholds=(Step("green"), Step("red", 0.1)), runbook="latency-spike", width=8),
        Panel("Responses by status", "Responses per second by HTTP status code.",
              PanelKind.TIMESERIES, (Query(q.request_rate(HERE, "status"), "{{status}}"),),
              unit="reqps", width=12),
        Panel("Mean latency", "Mean duration of users' requests (sum over count of the "
              "histogram).", PanelKind.TIMESERIES,
              (Query(f"sum({q.rate(m.DURATION_SUM, USERS)})\n/\n"
                     f"sum({q.rate(m.DURATION_COUNT, USERS)})", "mean"),),
              unit="s", thresholds=(Step("green"), Step("red", 0.1)), width=12),
    ))


def data_row() -> Row:
    missing = "\n".join(f"- **{what}**: not available - {why}."
                        for what, why in m.NOT_AVAILABLE.items())
    return Row("Database and events", (
        Panel("Database pool", "Connections of the region's database pool by state (size, "
              "checked out, checked in, overflow).", PanelKind.TIMESERIES,
              (Query(f"sum by (state) ({m.DB_POOL}{{{HERE}}})", "{{state}}"),), unit="short",
              runbook="postgres-primary-down", width=8),
        Panel("Outbox backlog", "Committed events not yet published to the bus. A backlog "
              "that grows means the relay or the bus is stuck.", PanelKind.TIMESERIES,
              (Query(f"sum({m.OUTBOX_PENDING}{{{HERE}}})", "pending events"),), unit="short",
              thresholds=(Step("green"), Step("orange", 100), Step("red", 1000)),
              runbook="nats-outage", width=8),
        Panel("Events enqueued (committed writes)", "2xx writes per second by route: each "
              "commits one event to the outbox (the relay's published count is not exported).",
              PanelKind.TIMESERIES, (Query(q.writes(HERE, "route, method"),
                                           "{{method}} {{route}}"),), unit="ops", width=8),
        Panel("Not available", "Series the issue asks for that the core API does not export.",
              PanelKind.TEXT, text=missing, width=24, height=4),
    ))


def health_row() -> Row:
    state = f"max({m.REGION_STATE}{{{HERE}}})"
    return Row("Health and traffic", (
        Panel("Region state", "The reconciler's state of this region.", PanelKind.TIMESERIES,
              (Query(state, "state"),), unit="none", value_texts=state_texts(),
              runbook="region-unreachable", width=8),
        Panel("Served here, by home region", "Front door requests this region served, by the "
              "home region of the request's country.", PanelKind.TIMESERIES,
              (Query(f"sum by (home) ({q.rate(m.FRONTDOOR_REQUESTS, SERVED_HERE)})",
                     "{{home}}"),), unit="reqps", width=8),
        Panel("Where this region's users are served", "Front door requests whose home is this "
              "region, by the region that served them: away from home after a failover.",
              PanelKind.TIMESERIES,
              (Query(f"sum by (served) ({q.rate(m.FRONTDOOR_REQUESTS, HOME_HERE)})",
                     "{{served}}"),), unit="reqps", width=8),
    ))


def region_annotations() -> tuple[Annotation, ...]:
    runs = (f"sum by (runbook, status) (increase({m.RUNBOOK_RUNS}{{{HERE}}}"
            f"[{q.RATE}])) > 0")
    return (
        Annotation("Incidents", f"max({m.REGION_STATE}{{{HERE}}}) > 0",
                   "Incident: region not healthy", "red"),
        Annotation("Runbook runs", runs, "Runbook {{runbook}}: {{status}}", "blue"),
    )


def region_dashboard(inputs: DashboardInputs, region: str) -> Dashboard:
    anomaly = tuple(band_panel(metric, "$region", width=6) for metric in inputs.anomaly_metrics)
    cp = inputs.control_plane_url
    return Dashboard(
        uid=region_uid(region), title=f"Covenant / Region {region}",
        description=f"Region {region}: requests per route, database and events, health and "
        "traffic, anomaly bands; incidents and runbook runs as annotations.",
        tags=(TAG, "region"),
        variables=(datasource(), constant("region", region)),
        rows=(red_row(), data_row(), health_row(),
              Row("Anomaly: actual against band", anomaly)),
        annotations=region_annotations(),
        links=(*navigation(inputs.regions, region_uid(region)),
               Link(f"Anomaly ({region})", dashboard_url(ANOMALY_UID, region=region)),
               Link("Open incidents", f"{cp}/v1/incidents?status=open"),
               Link(f"Runbook runs ({region})", f"{cp}/v1/runs?region={region}")),
        lint_exclusions=dict.fromkeys(JOB_RULES, MULTI_JOB),
    )
