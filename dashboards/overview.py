"""The global overview: the six regions side by side - traffic, errors, p99, health, where
each home's traffic goes now, open incidents and every SLO's remaining error budget."""

from __future__ import annotations

from dashboards import metrics as m
from dashboards import queries as q
from dashboards.common import (
    JOB_RULES,
    MULTI_JOB,
    OVERVIEW_UID,
    SLOS_UID,
    TAG,
    dashboard_url,
    datasource,
    navigation,
    query_var,
    region_uid,
)
from dashboards.inputs import DashboardInputs
from dashboards.model import Dashboard, Link, Panel, PanelKind, Query, Row, Step, ValueText

REGIONS = 'region=~"$region"'
HOMES = 'home=~"$region"'
BUDGET_STEPS = (Step("red"), Step("orange", 0.0), Step("green", 0.25))


def state_texts() -> tuple[ValueText, ...]:
    return tuple(ValueText(v, text, color) for v, text, color in m.REGION_STATES)


def red_row() -> Row:
    return Row("Requests, errors and latency by region", (
        Panel("Request rate", "Requests per second each region's API served (all routes, "
              "probes included).", PanelKind.TIMESERIES,
              (Query(q.request_rate(REGIONS, "region"), "{{region}}"),), unit="reqps",
              width=8),
        Panel("Error ratio", "Share of each region's responses that were 5xx. The orange line "
              "is the availability SLO's budget (0.05%).", PanelKind.TIMESERIES,
              (Query(q.error_ratio(REGIONS, "region"), "{{region}}"),), unit="percentunit",
              thresholds=(Step("green"), Step("orange", 0.0005), Step("red", 0.01)),
              runbook="error-budget-fast-burn", width=8),
        Panel("p99 latency", "99th percentile of users' request durations per region, from "
              "the duration histogram (probes and scrapes left out). The latency SLO wants 99% "
              "under 100 ms.", PanelKind.TIMESERIES,
              (Query(q.p99(REGIONS, "region"), "{{region}}"),), unit="s",
              thresholds=(Step("green"), Step("red", 0.1)), runbook="latency-spike", width=8),
    ))


def health_row(inputs: DashboardInputs) -> Row:
    state = f"max by (region) ({m.REGION_STATE}{{{REGIONS}}})"
    served = f"sum by (home, served) ({q.rate(m.FRONTDOOR_REQUESTS, HOMES)})"
    homes = f"sum by (home) ({q.rate(m.FRONTDOOR_REQUESTS, HOMES)})"
    return Row("Health and routing", (
        Panel("Region health", "Each region's state as the control plane's reconciler sees "
              "it now. Click a region for its dashboard.", PanelKind.STAT,
              (Query(state, "{{region}}"),), unit="none", value_texts=state_texts(),
              data_links=(Link("Region dashboard",
                               dashboard_url(region_uid("${__field.labels.region}"))),),
              runbook="region-unreachable", width=10, height=6),
        Panel("Open incidents", "Regions with an open incident: the reconciler opens one on a "
              "region's first unhealthy state and resolves it when the region is healthy, so "
              "this counts the regions not healthy now.", PanelKind.STAT,
              (Query(f"sum({state} > bool 0)", "open"),), unit="none",
              thresholds=(Step("green"), Step("red", 1)),
              links=(Link("Open incidents (control plane API)",
                          f"{inputs.control_plane_url}/v1/incidents?status=open"),),
              width=4, height=6),
        Panel("Front door retries", "Requests the front door retried on another region, by "
              "home region and reason (connect failure, reset, 502-504).", PanelKind.TIMESERIES,
              (Query(f"sum by (home, reason) ({q.rate(m.FRONTDOOR_RETRIES, HOMES)})",
                     "{{home}} {{reason}}"),),
              unit="reqps", width=10, height=6),
        Panel("Where each region's traffic goes now", "Share of each home region's requests "
              "served by each region through the front door: the routing weights in effect.",
              PanelKind.TABLE,
              (Query(f"{served}\n/ on (home) group_left\n{homes}\n> 0", instant=True),),
              unit="percentunit", width=12, height=7,
              links=(Link("Route table (control plane API)",
                          f"{inputs.control_plane_url}/v1/routes"),)),
        Panel("Traffic by home and serving region", "Front door requests per second by home "
              "region and the region that served them: a failover shows as a home's traffic "
              "moving to another region.", PanelKind.TIMESERIES,
              (Query(served, "{{home}} -> {{served}}"),), unit="reqps", width=12, height=7),
    ))


def budget_row(inputs: DashboardInputs) -> Row:
    sel = 'sloth_service=~"$service"'
    return Row("Error budgets", (
        Panel("Error budget remaining", "Share of each SLO's error budget left in its 30-day "
              "period (1 = untouched, 0 = spent, below 0 = overspent).", PanelKind.STAT,
              (Query(f"slo:period_error_budget_remaining:ratio{{{sel}}}", "{{sloth_slo}}"),),
              unit="percentunit", thresholds=BUDGET_STEPS,
              links=(Link("SLOs and error budgets", dashboard_url(SLOS_UID)),),
              width=24, height=6, runbook="error-budget-fast-burn"),
    ))


def overview(inputs: DashboardInputs) -> Dashboard:
    return Dashboard(
        uid=OVERVIEW_UID, title="Covenant / Overview",
        description="The six regions side by side: traffic, errors, latency, health, routing, "
        "incidents and error budgets.",
        tags=(TAG, "overview"),
        variables=(datasource(),
                   query_var("region", "Region", f"label_values({m.REQUESTS}, region)", True),
                   query_var("service", "Service",
                             "label_values(slo:objective:ratio, sloth_service)", True)),
        rows=(red_row(), health_row(inputs), budget_row(inputs)),
        links=navigation(inputs.regions, OVERVIEW_UID),
        lint_exclusions=dict.fromkeys(JOB_RULES, MULTI_JOB),
    )
