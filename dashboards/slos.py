"""SLOs and error budgets from Sloth's recording rules (``slo:*`` records, ``sloth_*``
labels), so Sloth's own dashboards (Grafana 14348, 14643) read the same series: objective,
budget remaining over the period, burn rate per window, alert state."""

from __future__ import annotations

from dashboards.common import (
    SLOS_UID,
    TAG,
    datasource,
    navigation,
    query_var,
)
from dashboards.inputs import DashboardInputs
from dashboards.model import Dashboard, Link, Panel, PanelKind, Query, Row, Step
from dashboards.overview import BUDGET_STEPS

SEL = 'sloth_service="$service", sloth_slo=~"$slo"'
ON = "on (sloth_id, sloth_slo, sloth_service) group_left"
BURN_STEPS = (Step("green"), Step("orange", 1), Step("red", 6))
RECORDS = ("recording rules: Sloth's slo:* records carry sloth_* labels, not job and "
           "instance")


def _runbook_links(inputs: DashboardInputs) -> tuple[Link, ...]:
    ids = sorted({s.runbook for s in inputs.slos})
    return tuple(Link(f"Runbook: {i}", inputs.runbook_url(i)) for i in ids)


def now_row(inputs: DashboardInputs) -> Row:
    return Row("Now", (
        Panel("Objective", "Each SLO's objective: the share of events that must be good.",
              PanelKind.STAT,
              (Query(f"max by (sloth_slo) (slo:objective:ratio{{{SEL}}})", "{{sloth_slo}}"),),
              unit="percentunit", decimals=2, width=6, height=6),
        Panel("Error budget remaining", "Share of the budget left in the 30-day period "
              "(traffic-weighted).", PanelKind.STAT,
              (Query(f"slo:period_error_budget_remaining:ratio{{{SEL}}}", "{{sloth_slo}}"),),
              unit="percentunit", thresholds=BUDGET_STEPS, width=6, height=6),
        Panel("Burn rate now", "Budget spend speed over the last 5 minutes: 1 spends exactly "
              "the budget in the period, 14.4 a page-worthy 2% in an hour.", PanelKind.STAT,
              (Query(f"slo:current_burn_rate:ratio{{{SEL}}}", "{{sloth_slo}}"),),
              unit="short", decimals=2, thresholds=BURN_STEPS, width=6, height=6),
        Panel("Alerts", "The SLOs' alerts pending or firing now (Prometheus ALERTS), with "
              "their severity.", PanelKind.TABLE,
              (Query(f"ALERTS{{{SEL}}}", instant=True),), unit="none",
              links=_runbook_links(inputs), width=6, height=6),
    ))


def burn_row() -> Row:
    by_window = (f'{{__name__=~"slo:sli_error:ratio_rate.+", {SEL}}}\n/ {ON}\n'
                 f"slo:error_budget:ratio{{{SEL}}}")
    return Row("Burn rate and budget", (
        Panel("Burn rate per window", "Error ratio over each alert window divided by the "
              "error budget: the multiwindow burn-rate alerts compare these with 14.4 and 6 "
              "(page) and 3 and 1 (ticket).", PanelKind.TIMESERIES,
              (Query(by_window, "{{sloth_slo}} {{sloth_window}}"),), unit="short",
              thresholds=BURN_STEPS, width=24),
        Panel("SLI error ratio (5m) against the budget", "The 5-minute error ratio of each "
              "SLO and its error budget (dashed).", PanelKind.TIMESERIES,
              (Query(f"slo:sli_error:ratio_rate5m{{{SEL}}}", "{{sloth_slo}}"),
               Query(f"slo:error_budget:ratio{{{SEL}}}", "budget {{sloth_slo}}")),
              unit="percentunit", dashed="budget.*", width=12),
        Panel("Error budget remaining over the period", "Share of each SLO's budget left in "
              "its 30-day period, over time.", PanelKind.TIMESERIES,
              (Query(f"slo:period_error_budget_remaining:ratio{{{SEL}}}", "{{sloth_slo}}"),),
              unit="percentunit", thresholds=BUDGET_STEPS, width=12),
    ))


def alerts_row(inputs: DashboardInputs) -> Row:
    return Row("Alert state", (
        Panel("Alert state over time", "Pending and firing SLO alerts by name, SLO and "
              "state.", PanelKind.TIMESERIES,
              (Query(f"sum by (alertname, sloth_slo, alertstate) (ALERTS{{{SEL}}})",
                     "{{alertname}} {{sloth_slo}} {{alertstate}}"),),
              unit="short", links=_runbook_links(inputs), width=24),
    ))


def slos(inputs: DashboardInputs) -> Dashboard:
    return Dashboard(
        uid=SLOS_UID, title="Covenant / SLOs and error budgets",
        description="Sloth-compatible SLO view: objective, budget remaining, burn rate per "
        "window, alert state.",
        tags=(TAG, "slo"),
        variables=(datasource(),
                   query_var("service", "Service",
                             "label_values(slo:objective:ratio, sloth_service)"),
                   query_var("slo", "SLO", 'label_values(slo:objective:ratio'
                             '{sloth_service="$service"}, sloth_slo)', multi=True)),
        rows=(now_row(inputs), burn_row(), alerts_row(inputs)),
        links=navigation(inputs.regions, SLOS_UID),
        lint_exclusions={"template-job-rule": RECORDS, "template-instance-rule": RECORDS,
                         "target-job-rule": RECORDS, "target-instance-rule": RECORDS},
    )
