"""The control plane's dashboard: the reconcile loop, its actions, the leader, the regions'
states, the front door, and the runbook executor and its Alertmanager webhook."""

from __future__ import annotations

from dashboards import metrics as m
from dashboards import queries as q
from dashboards.common import (
    CONTROLPLANE_UID,
    TAG,
    datasource,
    job_and_instance,
    navigation,
    query_var,
)
from dashboards.inputs import DashboardInputs
from dashboards.model import Dashboard, Panel, PanelKind, Query, Row, Step, ValueText
from dashboards.overview import state_texts

JOB = 'job=~"$job", instance=~"$instance"'


def reconciler_row() -> Row:
    def quantile(phi: str) -> str:
        return (f"histogram_quantile({phi}, sum by (le) "
                f"({q.rate(m.RECONCILE_BUCKET, JOB)}))")

    return Row("Reconciler", (
        Panel("Reconcile duration", "Wall time of one observe-decide-act pass, p50 and p99. "
              "A pass longer than the probe interval (1 s) delays the next.",
              PanelKind.TIMESERIES, (Query(quantile("0.5"), "p50"), Query(quantile("0.99"),
                                                                          "p99")),
              unit="s", thresholds=(Step("green"), Step("orange", 0.5), Step("red", 1)),
              width=8),
        Panel("Passes per second", "Reconcile passes per second, per replica.",
              PanelKind.TIMESERIES,
              (Query(f"sum by (instance) ({q.rate(m.RECONCILE_COUNT, JOB)})", "{{instance}}"),),
              unit="ops", width=8),
        Panel("Leader", "Whether each replica holds the lease (only the leader acts).",
              PanelKind.STAT, (Query(f"max by (instance) ({m.LEADER}{{{JOB}}})",
                                     "{{instance}}"),),
              unit="none", value_texts=(ValueText(0, "standby", "blue"),
                                        ValueText(1, "leader", "green")), width=8),
    ))


def regions_row() -> Row:
    sel = f'{JOB}, region=~"$region"'
    return Row("Regions and actions", (
        Panel("Region state", "Each region's state (healthy, degraded, down, recovering).",
              PanelKind.TIMESERIES, (Query(f"max by (region) ({m.REGION_STATE}{{{sel}}})",
                                           "{{region}}"),),
              unit="none", value_texts=state_texts(), runbook="region-unreachable", width=8),
        Panel("Region up", "1 while a region is healthy and serving its own traffic: the "
              "uptime SLO's series.", PanelKind.TIMESERIES,
              (Query(f"max by (region) ({m.REGION_UP}{{{sel}}})", "{{region}}"),),
              unit="none", thresholds=(Step("red"), Step("green", 1)), width=8),
        Panel("Actions by kind", "Actions the reconciler took (reroute, incident, hooks...), "
              "per interval.", PanelKind.TIMESERIES,
              (Query(f"sum by (kind) (increase({m.ACTIONS}{{{JOB}}}[{q.RATE}]))", "{{kind}}"),),
              unit="short", width=8),
    ))


def frontdoor_row() -> Row:
    return Row("Front door", (
        Panel("Front door requests", "Requests through the front door by serving region and "
              "status.", PanelKind.TIMESERIES,
              (Query(f"sum by (served, status) ({q.rate(m.FRONTDOOR_REQUESTS, JOB)})",
                     "{{served}} {{status}}"),), unit="reqps", width=12),
        Panel("Front door retries", "Requests retried on another region, by reason.",
              PanelKind.TIMESERIES,
              (Query(f"sum by (reason) ({q.rate(m.FRONTDOOR_RETRIES, JOB)})", "{{reason}}"),),
              unit="reqps", width=12),
        Panel("Answered 503: home region away", "Requests the front door answered 503 itself "
              "because their home region was down or unreachable, by home and reason.",
              PanelKind.TIMESERIES,
              (Query(f"sum by (home, reason) ({q.rate(m.FRONTDOOR_UNAVAILABLE, JOB)})",
                     "{{home}} {{reason}}"),), unit="reqps",
              thresholds=(Step("green"), Step("red", 0.01)), runbook="region-unreachable",
              width=12),
        Panel("Route tables received", "Route tables the control plane pushed to the front "
              "door, per interval: each reroute and each return home is one.",
              PanelKind.TIMESERIES,
              (Query(f"sum by (instance) (increase({m.FRONTDOOR_ROUTE_UPDATES}{{{JOB}}}"
                     f"[{q.RATE}]))", "{{instance}}"),), unit="short", width=12),
    ))


def runbooks_row() -> Row:
    def by(title: str, description: str, metric: str, labels: str) -> Panel:
        return Panel(title, description, PanelKind.TIMESERIES,
                     (Query(f"sum by ({labels}) ({q.rate(metric, JOB)})",
                            " ".join(f"{{{{{b.strip()}}}}}" for b in labels.split(","))),),
                     unit="ops", width=8)

    return Row("Runbooks", (
        by("Runbook runs", "Runs per second by runbook and status: started when a run "
           "starts, then how it ended (succeeded, failed, timed_out, cancelled).",
           m.RUNBOOK_RUNS, "runbook, status"),
        by("Runbook step failures", "Steps that failed or timed out per second, by runbook "
           "and step.", m.RUNBOOK_STEP_FAILURES, "runbook, step"),
        by("Webhook deliveries", "Alertmanager webhook deliveries to the control plane, by "
           "outcome (accepted, malformed, not_leader, journal_unavailable).",
           m.WEBHOOK_DELIVERIES, "outcome"),
    ))


def plane(inputs: DashboardInputs) -> Dashboard:
    return Dashboard(
        uid=CONTROLPLANE_UID, title="Covenant / Control plane",
        description="The reconciler, its actions and leader, the regions' states, the front "
        "door and the runbook executor.",
        tags=(TAG, "controlplane"),
        variables=(datasource(), *job_and_instance(m.LEADER),
                   query_var("region", "Region", f"label_values({m.REGION_STATE}, region)",
                             multi=True)),
        rows=(reconciler_row(), regions_row(), frontdoor_row(), runbooks_row()),
        links=navigation(inputs.regions, CONTROLPLANE_UID),
    )
