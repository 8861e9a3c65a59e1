"""The anomaly watch's dashboard, and the actual-against-band panels the region dashboards
share: each (region, metric) series with the band it is judged against and its score."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dashboards import metrics as m
from dashboards import queries as q
from dashboards.common import (
    ANOMALY_UID,
    JOB_RULES,
    MULTI_JOB,
    TAG,
    datasource,
    navigation,
    query_var,
)
from dashboards.inputs import DashboardInputs
from dashboards.model import Dashboard, Panel, PanelKind, Query, Row, Step

SCORE_STEPS = (Step("green"), Step("orange", 0.5), Step("red", 0.8))


@dataclass(frozen=True, slots=True)
class Actual:
    """How to read an anomaly metric's actual value from Prometheus."""

    title: str
    unit: str
    expr: str  # "" when the value the watch scores is not exported


def _actuals(region: str) -> Mapping[str, Actual]:
    sel = f'region="{region}"'
    return MappingProxyType({
        "traffic_rps": Actual("Request rate", "reqps", f"sum({q.rate(m.REQUESTS, sel)})"),
        "error_ratio": Actual("5xx ratio", "percentunit", q.error_ratio(sel, "region")),
        "latency_p99_ms": Actual("Request p99", "ms", q.p99(sel, "region", scale="1000")),
        "latency_ms": Actual("Probe latency", "ms", ""),
    })


def band_panel(metric: str, region: str, width: int = 12) -> Panel:
    """Actual (where exported) against the band for one (region, metric)."""
    actual = _actuals(region).get(metric, Actual(metric, "short", ""))
    sel = f'region="{region}", metric="{metric}"'
    queries = [Query(f"max({m.BAND_LOWER}{{{sel}}})", "band lower"),
               Query(f"max({m.BAND_UPPER}{{{sel}}})", "band upper")]
    note = ("The value itself is not exported (only its band and score are)."
            if not actual.expr else "The actual is computed by Prometheus from the core API's "
            "own series; the watch scores the same quantity from its scrapes.")
    if actual.expr:
        queries.insert(0, Query(actual.expr, "actual"))
    return Panel(f"{actual.title} ({metric}) against its band",
                 f"The anomaly watch's dynamic threshold for {metric} (the forecast +- 3 "
                 f"residual scales), NaN until the series has enough history to fit. {note}",
                 PanelKind.TIMESERIES, tuple(queries), unit=actual.unit, dashed="band.*",
                 fill=("band upper", "band lower"),
                 runbook="latency-spike" if "latency" in metric else "", width=width)


def _scores_row() -> Row:
    return Row("Scores", (
        Panel("Anomaly score by metric", "Each metric's newest score, 0 (normal) to 1; three "
              "cycles in a row at about 0.8 and outside the band make the region anomalous.",
              PanelKind.TIMESERIES,
              (Query(f'max by (metric) ({m.SCORE}{{region="$region"}})', "{{metric}}"),),
              unit="percentunit", thresholds=SCORE_STEPS, width=12),
        Panel("Scores now, every region", "The newest score of every (region, metric) "
              "series.", PanelKind.TABLE,
              (Query(f"max by (region, metric) ({m.SCORE})", instant=True),),
              unit="percentunit", thresholds=SCORE_STEPS, width=12),
    ))


def anomaly(inputs: DashboardInputs) -> Dashboard:
    panels = tuple(band_panel(metric, "$region") for metric in inputs.anomaly_metrics)
    return Dashboard(
        uid=ANOMALY_UID, title="Covenant / Anomaly",
        description="Per region and metric: the actual against the anomaly watch's forecast "
        "band, and the score.",
        tags=(TAG, "anomaly"),
        variables=(datasource(),
                   query_var("region", "Region", f"label_values({m.SCORE}, region)")),
        rows=(_scores_row(), Row("Actual against band", panels)),
        links=navigation(inputs.regions, ANOMALY_UID),
        lint_exclusions=dict.fromkeys(JOB_RULES, MULTI_JOB),
    )
