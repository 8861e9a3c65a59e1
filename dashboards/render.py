"""The model as Grafana dashboard JSON, through grafanalib: modern panel types, the
templated Prometheus datasource on every panel and target, a grid laid out row by row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grafanalib.core as g
from grafanalib._gen import DashboardEncoder

from dashboards.inputs import DashboardInputs
from dashboards.model import (
    DATASOURCE_VAR,
    GRID_WIDTH,
    Annotation,
    Dashboard,
    Link,
    Panel,
    PanelKind,
    Row,
    Step,
    ValueText,
    Variable,
    VariableKind,
)

SCHEMA_VERSION = 39  # Grafana 10.4+: no migration runs on load
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VAR}}}"}
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Json = dict[str, Any]


def _steps(steps: tuple[Step, ...]) -> list[Json]:
    return [{"color": s.color, "value": s.value} for s in steps]


def _mappings(texts: tuple[ValueText, ...]) -> list[Json]:
    if not texts:
        return []
    options = {str(t.value): {"text": t.text, "color": t.color, "index": i}
               for i, t in enumerate(texts)}
    return [{"type": "value", "options": options}]


def _link(link: Link) -> Json:
    return {"title": link.title, "url": link.url, "targetBlank": not link.url.startswith("/d/")}


def _links(panel: Panel, inputs: DashboardInputs) -> list[Json]:
    links = [Link(f"Runbook: {panel.runbook}", inputs.runbook_url(panel.runbook))] \
        if panel.runbook else []
    return [_link(x) for x in (*links, *panel.links)]


def _targets(panel: Panel) -> list[g.Target]:
    return [g.Target(expr=q.expr, legendFormat=q.legend, refId=REF_IDS[i], instant=q.instant,
                     format="table" if q.instant else "time_series", intervalFactor=1,
                     datasource=DATASOURCE)
            for i, q in enumerate(panel.queries)]


def _overrides(panel: Panel) -> list[Json]:
    """Dashed series (``panel.dashed``), and the band between two (``panel.fill``)."""
    out: list[Json] = []
    if panel.dashed:
        out.append({"matcher": {"id": "byRegexp", "options": panel.dashed},
                    "properties": [{"id": "custom.lineStyle",
                                    "value": {"fill": "dash", "dash": [10, 10]}},
                                   {"id": "color", "value": {"mode": "fixed",
                                                             "fixedColor": "text"}}]})
    if panel.fill:
        upper, lower = panel.fill
        out.append({"matcher": {"id": "byName", "options": upper},
                    "properties": [{"id": "custom.fillBelowTo", "value": lower},
                                   {"id": "custom.fillOpacity", "value": 15}]})
    return out


def _common(panel: Panel, inputs: DashboardInputs, pos: g.GridPos) -> Json:
    extra: Json = {"fieldConfig": {"defaults": {"links": [_link(x) for x in panel.data_links]}}}
    if panel.pending:
        extra["covenantPending"] = list(panel.pending)  # read by the live test
    return {"title": panel.title, "description": panel.description, "gridPos": pos,
            "dataSource": DATASOURCE, "targets": _targets(panel),
            "links": _links(panel, inputs), "extraJson": extra, "maxDataPoints": None}


def _panel(panel: Panel, inputs: DashboardInputs, pos: g.GridPos) -> g.Panel:
    common = _common(panel, inputs, pos)
    if panel.kind is PanelKind.TIMESERIES:
        return g.TimeSeries(**common, unit=panel.unit, thresholds=_steps(panel.thresholds),
                            mappings=_mappings(panel.value_texts), valueDecimals=panel.decimals,
                            overrides=_overrides(panel), legendDisplayMode="table",
                            legendPlacement="right" if panel.width >= 12 else "bottom",
                            tooltipMode="multi", fillOpacity=10, showPoints="never")
    if panel.kind is PanelKind.STAT:
        return g.Stat(**common, format=panel.unit, thresholds=_steps(panel.thresholds),
                      mappings=_mappings(panel.value_texts), decimals=panel.decimals,
                      reduceCalc="lastNotNull", graphMode="none", colorMode="background",
                      textMode="value_and_name")
    if panel.kind is PanelKind.TABLE:
        hide = {"Time": True, "__name__": True, "job": True, "instance": True}
        return g.Table(**common, unit=panel.unit, thresholds=_steps(panel.thresholds),
                       mappings=_mappings(panel.value_texts),
                       transformations=[{"id": "organize",
                                         "options": {"excludeByName": hide}}])
    common.pop("targets")
    common.pop("dataSource")
    return g.Text(**common, content=panel.text, mode="markdown")


def _layout(rows: tuple[Row, ...]) -> Iterator[tuple[Row | Panel, g.GridPos]]:
    """Each row's header, then its panels left to right, wrapping at the grid's width."""
    y = 0
    for row in rows:
        yield row, g.GridPos(h=1, w=GRID_WIDTH, x=0, y=y)
        y += 1
        x, line = 0, 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, line = 0, y + line, 0
            yield panel, g.GridPos(h=panel.height, w=panel.width, x=x, y=y)
            x += panel.width
            line = max(line, panel.height)
        y += line


def _variable(v: Variable) -> g.Template:
    if v.kind is VariableKind.DATASOURCE:
        return g.Template(name=v.name, label=v.label, query=v.query, type="datasource",
                          default="Prometheus", refresh=1)
    if v.kind is VariableKind.CONSTANT:
        return g.Template(name=v.name, label=v.label, query=v.query, type="constant",
                          default=v.query, hide=2)
    template = g.Template(name=v.name, label=v.label, query=v.query, type="query",
                          dataSource=DATASOURCE, multi=v.multi, includeAll=v.include_all,
                          allValue=v.all_value if v.include_all else None, refresh=2, sort=1)
    if v.include_all:  # start on "All", as Grafana itself writes it
        template._current = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return template


def _annotation(a: Annotation) -> Json:
    out: Json = {"name": a.name, "datasource": DATASOURCE, "enable": True, "expr": a.expr,
                 "iconColor": a.color, "step": "$__interval", "titleFormat": a.title,
                 "tagKeys": "region", "useValueForTime": False}
    if a.pending:
        out["covenantPending"] = list(a.pending)
    return out


BUILT_IN_ANNOTATIONS: Json = {
    "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
    "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
    "type": "dashboard"}


def to_grafanalib(d: Dashboard, inputs: DashboardInputs) -> g.Dashboard:
    panels: list[g.Panel] = []
    for item, pos in _layout(d.rows):
        if isinstance(item, Row):
            panels.append(g.RowPanel(title=item.title, gridPos=pos))
        else:
            panels.append(_panel(item, inputs, pos))
    return g.Dashboard(
        title=d.title, uid=d.uid, description=d.description, tags=list(d.tags),
        panels=panels, templating=g.Templating([_variable(v) for v in d.variables]),
        annotations=g.Annotations([BUILT_IN_ANNOTATIONS,
                                   *(_annotation(a) for a in d.annotations)]),
        links=[g.DashboardLink(title=x.title, uri=x.url, type="link",
                               icon="dashboard" if x.url.startswith("/d/") else "external link",
                               targetBlank=not x.url.startswith("/d/"))
               for x in d.links],
        schemaVersion=SCHEMA_VERSION, timezone="utc", refresh="30s", graphTooltip=1,
        editable=False,
    ).auto_panel_ids()


def to_json(d: Dashboard, inputs: DashboardInputs) -> Json:
    data: Json = json.loads(json.dumps(to_grafanalib(d, inputs).to_json_data(),
                                       cls=DashboardEncoder))
    return data


def dumps(data: Json) -> str:
    """Stable text for files and golden comparisons: sorted keys, two-space indent."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
