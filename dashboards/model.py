"""The plain dashboard model every builder produces and the renderer turns into Grafana
JSON: no grafanalib in here, so builders and tests read like the dashboards they describe."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

DATASOURCE_VAR = "datasource"
GRID_WIDTH = 24  # Grafana's grid is 24 columns wide


class PanelKind(StrEnum):
    TIMESERIES = "timeseries"
    STAT = "stat"
    TABLE = "table"
    TEXT = "text"


class VariableKind(StrEnum):
    DATASOURCE = "datasource"
    QUERY = "query"
    CONSTANT = "constant"


@dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False  # tables: one value per series, as a table


@dataclass(frozen=True, slots=True)
class Step:
    """A threshold: ``color`` from ``value`` up (``None``: the base colour)."""

    color: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A link from a panel or a dashboard. ``url`` may hold Grafana variables
    (``${__field.labels.region}``); ``/d/<uid>`` links point at another dashboard."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class ValueText:
    """A value mapping: show ``text`` in ``color`` for ``value``."""

    value: int
    text: str
    color: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    kind: PanelKind
    queries: tuple[Query, ...] = ()
    unit: str = "short"
    thresholds: tuple[Step, ...] = (Step("green"),)
    links: tuple[Link, ...] = ()
    data_links: tuple[Link, ...] = ()  # per value: may use ${__field.labels.<name>}
    runbook: str = ""  # a shipped runbook id: linked as "Runbook: <id>"
    width: int = 12
    height: int = 8
    value_texts: tuple[ValueText, ...] = ()
    text: str = ""  # TEXT panels: Markdown
    dashed: str = ""  # TIMESERIES: series whose name matches this regex are drawn dashed
    fill: tuple[str, str] | tuple[()] = ()  # TIMESERIES: (upper, lower) names, shaded between
    # Metrics this panel plots that nothing exports yet (see dashboards.metrics.PENDING):
    # the live test expects them empty until they exist.
    pending: tuple[str, ...] = ()
    decimals: int | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    label: str
    kind: VariableKind
    query: str = ""  # label_values(...) for QUERY, the value for CONSTANT
    multi: bool = False
    include_all: bool = False
    all_value: str = ".+"  # what "All" becomes in a regex matcher (dashboard-linter's)
    default: str = ""


@dataclass(frozen=True, slots=True)
class Annotation:
    """Time ranges where ``expr`` has a value, drawn over every time series panel."""

    name: str
    expr: str
    title: str
    color: str
    pending: tuple[str, ...] = ()


def _frozen(m: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    variables: tuple[Variable, ...]
    rows: tuple[Row, ...]
    annotations: tuple[Annotation, ...] = ()
    links: tuple[Link, ...] = ()
    # lint rule -> why it does not apply here (written to the .lint file beside the JSON)
    lint_exclusions: Mapping[str, str] = field(default_factory=_frozen)

    def panels(self) -> tuple[Panel, ...]:
        return tuple(p for r in self.rows for p in r.panels)

    def file_name(self) -> str:
        return f"{self.uid}.json"
