"""grafana/dashboard-linter's main rules, in Python, over dashboard JSON (ours or anyone's).

Rules and names follow the linter: the ``template-*`` rules on the dashboard, ``panel-*`` on
each query panel, ``target-*`` on each Prometheus target; plus ``uid-rule`` (a stable,
URL-safe UID). Exceptions live where the linter keeps them: a ``.lint`` file beside the
dashboards (``exclusions: {rule: {reason, entries: [{dashboard, panel}]}}``), which
:func:`config_text` writes for the generated ones. ``target-promql-rule`` needs a PromQL
parser: :mod:`dashboards.promtool` (the real one) passed as ``promql``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboards.errors import DashboardError
from dashboards.lint_config import LintConfig
from dashboards.promql import Selector, selectors
from dashboards.units import VALID_UNITS
from dashboards.variables import substitute

Json = dict[str, Any]
QUERY_PANELS = frozenset({"stat", "singlestat", "graph", "table", "timeseries", "gauge",
                          "bargauge"})
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
# Checks a batch of PromQL expressions; returns {index: error} for the bad ones.
PromqlChecker = Callable[[Sequence[str]], Mapping[int, str]]


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str
    dashboard: str
    panel: str
    message: str

    def __str__(self) -> str:
        where = f"dashboard '{self.dashboard}'" + (f", panel '{self.panel}'" if self.panel
                                                   else "")
        return f"[{self.rule}] {where}: {self.message}"


# Dashboard rules -------------------------------------------------------------------------

def _templates(d: Json) -> list[Json]:
    return list(d.get("templating", {}).get("list", []) or [])


def _datasource_template(d: Json) -> Json | None:
    return next((t for t in _templates(d) if t.get("type") == "datasource"), None)


def _is_prometheus(d: Json) -> bool:
    t = _datasource_template(d)
    return t is not None and t.get("query") == "prometheus"


def template_datasource(d: Json) -> Iterator[str]:
    t = _datasource_template(d)
    if t is None:
        yield ("has no templated data source; add a 'datasource' variable of type datasource "
               "(query 'prometheus')")
        return
    if t.get("name") not in ("datasource", f"{t.get('query')}_datasource"):
        yield f"templated data source is named '{t.get('name')}'; name it 'datasource'"
    if t.get("label") not in ("Data source", f"{str(t.get('query')).title()} data source"):
        yield f"templated data source is labeled '{t.get('label')}'; label it 'Data source'"


def _template_rule(name: str) -> Callable[[Json], Iterator[str]]:
    def rule(d: Json) -> Iterator[str]:
        if not _is_prometheus(d):
            return
        t = next((t for t in _templates(d) if t.get("name") == name), None)
        if t is None:
            yield f"is missing the {name} template"
            return
        if _uid(t.get("datasource")) not in ("$datasource", "${datasource}"):
            yield f"{name} template should use datasource '${{datasource}}'"
        if t.get("type") != "query":
            yield f"{name} template should be a Prometheus query, is '{t.get('type')}'"
        if t.get("label") != name.title():
            yield f"{name} template should be labeled '{name.title()}'"
        if not t.get("multi"):
            yield f"{name} template should be a multi select"
        if t.get("allValue") != ".+":
            yield f"{name} template allValue should be '.+', is '{t.get('allValue')}'"
    return rule


def template_on_time_change_reload(d: Json) -> Iterator[str]:
    for t in _templates(d):
        if t.get("type") == "query" and t.get("refresh") != 2:
            yield (f"variable '{t.get('name')}' should refresh on time range change "
                   f"(refresh: 2), is {t.get('refresh')}")


_LABEL_VALUES = re.compile(r"label_values\((?:(?P<sel>.+),\s*)?(?P<label>\w+)\)\s*")


def template_label_promql(d: Json) -> Iterator[str]:
    for t in _templates(d):
        query = t.get("query")
        if t.get("type") != "query" or not isinstance(query, str):
            continue
        m = _LABEL_VALUES.fullmatch(query)
        if m is None:
            yield f"variable '{t.get('name')}' query {query!r} is not label_values(...)"
        elif m.group("sel"):
            yield from (f"variable '{t.get('name')}': {e}" for e in _unparsable(m["sel"]))


def uid_rule(d: Json) -> Iterator[str]:
    uid = d.get("uid")
    if not isinstance(uid, str) or not UID.fullmatch(uid):
        yield (f"uid {uid!r} is not a stable UID; set 1-40 characters of letters, digits, "
               "'-' or '_' so links and provisioning keep pointing at it")


DASHBOARD_RULES: Mapping[str, Callable[[Json], Iterator[str]]] = {
    "template-datasource-rule": template_datasource,
    "template-job-rule": _template_rule("job"),
    "template-instance-rule": _template_rule("instance"),
    "template-on-time-change-reload-rule": template_on_time_change_reload,
    "template-label-promql-rule": template_label_promql,
    "uid-rule": uid_rule,
}


# Panel rules -----------------------------------------------------------------------------

def _uid(datasource: object) -> str:
    if isinstance(datasource, dict):
        return str(datasource.get("uid", ""))
    return str(datasource or "")


def panel_datasource(d: Json, p: Json) -> Iterator[str]:
    names = {f"${t.get('name')}" for t in _templates(d) if t.get("type") == "datasource"}
    names |= {f"${{{n[1:]}}}" for n in names}
    if _uid(p.get("datasource")) not in names:
        yield (f"does not use a templated datasource, uses '{_uid(p.get('datasource'))}'; "
               "set its datasource to ${datasource}")


def panel_title_description(d: Json, p: Json) -> Iterator[str]:
    if not p.get("title") or not p.get("description"):
        yield "has no title or no description; say what the panel shows and how to read it"


def panel_units(d: Json, p: Json) -> Iterator[str]:
    unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit") or ""
    if unit not in VALID_UNITS:
        yield f"has no or an invalid unit {unit!r}; set one of Grafana's units (e.g. 's', 'reqps')"


def panel_no_targets(d: Json, p: Json) -> Iterator[str]:
    if not p.get("targets"):
        yield "has no targets; give it a query or make it a text panel"


PANEL_RULES: Mapping[str, Callable[[Json, Json], Iterator[str]]] = {
    "panel-datasource-rule": panel_datasource,
    "panel-title-description-rule": panel_title_description,
    "panel-units-rule": panel_units,
    "panel-no-targets-rule": panel_no_targets,
}


# Target rules ----------------------------------------------------------------------------

def _unparsable(expr: str) -> Iterator[str]:
    try:
        selectors(expr)
    except DashboardError as exc:
        yield str(exc)


def target_rate_interval(s: Selector) -> Iterator[str]:
    if s.function in RATE_FUNCTIONS and s.range != "$__rate_interval":
        yield (f"{s.function}({s.metric}[{s.range}]) should use $__rate_interval, so the "
               "range follows the scrape interval and the step")


def target_counter_agg(s: Selector) -> Iterator[str]:
    if s.metric.endswith("_total") and not (s.range and s.function in RATE_FUNCTIONS):
        yield f"counter {s.metric} is not aggregated with rate, irate or increase"


def _matcher_rule(label: str) -> Callable[[Selector], Iterator[str]]:
    def rule(s: Selector) -> Iterator[str]:
        if s.matcher(label) != ("=~", f"${label}"):
            yield f'{s.metric or "selector"} has no {label}=~"${label}" matcher'
    return rule


SELECTOR_RULES: Mapping[str, Callable[[Selector], Iterator[str]]] = {
    "target-rate-interval-rule": target_rate_interval,
    "target-counter-agg-rule": target_counter_agg,
    "target-job-rule": _matcher_rule("job"),
    "target-instance-rule": _matcher_rule("instance"),
}


# Running them ----------------------------------------------------------------------------

def panels(d: Json) -> Iterator[Json]:
    """Every panel, those inside (collapsed) rows included."""
    for p in d.get("panels", []) or []:
        yield p
        yield from p.get("panels", []) or []


def _target_problems(d: Json, p: Json) -> Iterator[tuple[str, str]]:
    for t in p.get("targets", []) or []:
        expr = t.get("expr", "")
        bad = list(_unparsable(expr))
        if bad:
            yield from (("target-promql-rule", b) for b in bad)
            continue
        for s in selectors(expr):
            for name, rule in SELECTOR_RULES.items():
                yield from ((name, msg) for msg in rule(s))


def _raw_problems(d: Json) -> Iterator[Problem]:
    title = str(d.get("title", ""))
    for name, dash_rule in DASHBOARD_RULES.items():
        yield from (Problem(name, title, "", msg) for msg in dash_rule(d))
    prometheus = _is_prometheus(d)
    for p in panels(d):
        if p.get("type") not in QUERY_PANELS:
            continue
        panel = str(p.get("title", ""))
        for name, panel_rule in PANEL_RULES.items():
            yield from (Problem(name, title, panel, msg) for msg in panel_rule(d, p))
        if prometheus:
            yield from (Problem(name, title, panel, msg)
                        for name, msg in _target_problems(d, p))


def lint(d: Json, config: LintConfig | None = None,
         promql: PromqlChecker | None = None) -> list[Problem]:
    """Every problem of dashboard ``d`` that ``config`` does not exclude."""
    config = config or LintConfig()
    found = list(_raw_problems(d))
    if promql is not None and _is_prometheus(d):
        found += _promql_problems(d, promql)
    return [p for p in found if not config.excluded(p.rule, p.dashboard, p.panel)]


def expressions(d: Json) -> list[tuple[str, str]]:
    """(panel title, expr) of every target, variables substituted as Grafana would."""
    values = {str(t.get("name")): (".+" if t.get("type") == "query" else str(t.get("query")))
              for t in _templates(d)}
    return [(str(p.get("title", "")), substitute(t.get("expr", ""), values))
            for p in panels(d) for t in p.get("targets", []) or [] if t.get("expr")]


def _promql_problems(d: Json, promql: PromqlChecker) -> list[Problem]:
    exprs = expressions(d)
    bad = promql([e for _, e in exprs])
    return [Problem("target-promql-rule", str(d.get("title", "")), exprs[i][0], error)
            for i, error in sorted(bad.items())]
