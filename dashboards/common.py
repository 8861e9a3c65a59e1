"""Pieces every dashboard shares: UIDs, template variables, links between dashboards."""

from __future__ import annotations

from urllib.parse import urlencode

from dashboards.model import DATASOURCE_VAR, Link, Variable, VariableKind

TAG = "covenant"
OVERVIEW_UID = "covenant-overview"
SLOS_UID = "covenant-slos"
ANOMALY_UID = "covenant-anomaly"
CONTROLPLANE_UID = "covenant-controlplane"
# The lint rules the multi-job dashboards cannot follow, and why (see dashboards.lint).
MULTI_JOB = ("queries read two jobs (core-api for the service's own metrics, covenant for "
             "the control plane's); the region label selects the series")
JOB_RULES = ("template-job-rule", "template-instance-rule", "target-job-rule",
             "target-instance-rule")


def region_uid(region: str) -> str:
    return f"covenant-region-{region}"


def dashboard_url(uid: str, **variables: str) -> str:
    """Grafana's path of a dashboard, with template variables set (``var-<name>=...``)."""
    query = urlencode({f"var-{k}": v for k, v in variables.items()})
    return f"/d/{uid}" + (f"?{query}" if query else "")


def datasource() -> Variable:
    return Variable(DATASOURCE_VAR, "Data source", VariableKind.DATASOURCE, "prometheus")


def query_var(name: str, label: str, query: str, multi: bool = False) -> Variable:
    return Variable(name, label, VariableKind.QUERY, query, multi=multi, include_all=multi)


def constant(name: str, value: str) -> Variable:
    return Variable(name, name.capitalize(), VariableKind.CONSTANT, value)


def job_and_instance(metric: str) -> tuple[Variable, Variable]:
    """dashboard-linter's job and instance templates: multi-select, "All" matching ``.+``."""
    return (query_var("job", "Job", f"label_values({metric}, job)", multi=True),
            query_var("instance", "Instance", 'label_values(up{job=~"$job"}, instance)',
                      multi=True))


def navigation(regions: tuple[str, ...], here: str) -> tuple[Link, ...]:
    """Links to every other Covenant dashboard, in one order everywhere."""
    links = [Link("Overview", dashboard_url(OVERVIEW_UID))]
    links += [Link(f"Region {r}", dashboard_url(region_uid(r))) for r in regions]
    links += [Link("SLOs and error budgets", dashboard_url(SLOS_UID)),
              Link("Anomaly", dashboard_url(ANOMALY_UID)),
              Link("Control plane", dashboard_url(CONTROLPLANE_UID))]
    return tuple(link for link in links if not link.url.startswith(f"/d/{here}"))
