"""What a preview draws: each panel's series from Prometheus (variables substituted as
Grafana would), annotation time ranges, and values for the dashboard's variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboards.errors import DashboardError
from dashboards.prometheus import Prometheus, Series, Window
from dashboards.values import legend
from dashboards.variables import substitute

Json = dict[str, Any]
_LABEL_VALUES_PREFIX = "label_values("


@dataclass(frozen=True)
class PanelData:
    series: tuple[tuple[str, Series], ...] = field(default_factory=tuple)  # (legend, series)


def interval_values(window: Window) -> dict[str, str]:
    """Grafana's built-ins for this window: $__rate_interval at least 1m (4x a 15 s scrape)."""
    step = max(int(window.step), 1)
    return {"__interval": f"{step}s", "__rate_interval": f"{max(60, 4 * step)}s",
            "__range": f"{int(window.end - window.start)}s",
            "__range_s": str(int(window.end - window.start))}


def variable_values(d: Json, prom: Prometheus, given: Mapping[str, str]) -> dict[str, str]:
    """Each template variable's value: given, constant, "All" (its allValue), or the first
    value Prometheus has for a single-value query variable."""
    values: dict[str, str] = {}
    for t in d.get("templating", {}).get("list", []):
        name = str(t.get("name"))
        if name in given:
            values[name] = given[name]
        elif t.get("type") in ("constant", "datasource"):
            values[name] = str(t.get("query"))
        elif t.get("includeAll"):
            values[name] = str(t.get("allValue") or ".*")
        else:
            values[name] = _first_value(name, substitute(str(t.get("query")), values), prom)
    unknown = sorted(set(given) - set(values))
    if unknown:
        raise DashboardError(f"{d.get('title')} has no variable {', '.join(unknown)}; its "
                             f"variables are {', '.join(sorted(values)) or 'none'}")
    return values


def _first_value(name: str, query: str, prom: Prometheus) -> str:
    if not query.startswith(_LABEL_VALUES_PREFIX) or not query.endswith(")"):
        raise DashboardError(f"variable {name}: cannot resolve {query!r}; pass --var "
                             f"{name}=VALUE")
    inner = query[len(_LABEL_VALUES_PREFIX):-1]
    match, _, label = inner.rpartition(",")
    found = prom.label_values(label.strip(), match.strip())
    if not found:
        raise DashboardError(f"variable {name}: Prometheus has no value of {label.strip()!r} "
                             f"yet; pass --var {name}=VALUE")
    return found[0]


def fetch_panel(p: Json, prom: Prometheus, values: Mapping[str, str],
                window: Window) -> PanelData:
    if p.get("type") in ("row", "text"):
        return PanelData()
    merged = {**values, **interval_values(window)}
    out: list[tuple[str, Series]] = []
    for t in p.get("targets", []) or []:
        expr = substitute(str(t.get("expr", "")), merged)
        found = prom.query(expr, window.end) if t.get("instant") else \
            prom.query_range(expr, window)
        out += [(legend(str(t.get("legendFormat", "")), s.labels), s) for s in found]
    return PanelData(tuple(out))


def fetch_annotations(d: Json, prom: Prometheus, values: Mapping[str, str],
                      window: Window) -> list[tuple[float, float]]:
    """Time ranges where any Prometheus annotation query of ``d`` has a value."""
    merged = {**values, **interval_values(window)}
    spans: list[tuple[float, float]] = []
    for a in d.get("annotations", {}).get("list", []):
        if not a.get("expr") or a.get("covenantPending"):
            continue
        for s in prom.query_range(substitute(str(a["expr"]), merged), window):
            spans += _spans([t for t, _ in s.finite()], window.step)
    return spans


def _spans(times: list[float], step: float) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    for t in times:
        if spans and t - spans[-1][1] <= step * 1.5:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t + step))
    return spans
