"""The native SLO spec: Sloth's ``prometheus/v1`` plus Covenant extensions, validated with paths.

Every Sloth field keeps its name and meaning. Extensions (all optional): per SLO
``time_window`` (7d, 28d, 30d, calendar-month), ``budgeting`` (occurrences | timeslices) and
``timeslice``; SLI kinds ``ratio``, ``latency`` and ``availability`` beside Sloth's ``events``
and ``raw``; ``alerting.runbook_url``, ``for`` on each alert, and the ``no_data`` and
``budget_exhausted`` alerts.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.matchers import LABEL_NAME, Matcher, parse_selector, render_selector
from slo.errors import SpecError
from slo.model import SLO, AlertMeta, Budgeting, Sli, SliKind, SLOGroup, Timeslice
from slo.period import CALENDAR_MONTH, ROLLING, parse_duration, parse_period

VERSION = "prometheus/v1"
_WINDOW_TPL = re.compile(r"\{\{\s*\.window\s*\}\}")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_ALERT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EventsSpec(_Strict):
    error_query: str
    total_query: str


class RawSpec(_Strict):
    error_ratio_query: str


class RatioSpec(_Strict):
    metric: str = "http_requests_total"
    selector: str = ""
    error_selector: str = 'status=~"5.."'


class LatencySpec(_Strict):
    metric: str = "http_request_duration_seconds"
    selector: str = ""
    threshold: str = Field(description="The histogram bucket (le) that counts as fast, e.g. 0.1")


class AvailabilitySpec(_Strict):
    metric: str = "covenant_region_up"
    selector: str = ""


class SliSpec(_Strict):
    events: EventsSpec | None = None
    raw: RawSpec | None = None
    ratio: RatioSpec | None = None
    latency: LatencySpec | None = None
    availability: AvailabilitySpec | None = None


class AlertSpec(_Strict):
    disable: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    for_: str | None = Field(default=None, alias="for")


class AlertingSpec(_Strict):
    name: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    runbook_url: str = ""
    page_alert: AlertSpec = Field(default_factory=AlertSpec)
    ticket_alert: AlertSpec = Field(default_factory=AlertSpec)
    no_data: AlertSpec = Field(default_factory=AlertSpec)
    budget_exhausted: AlertSpec = Field(default_factory=AlertSpec)


class TimesliceSpec(_Strict):
    length: str = "5m"
    good_threshold: float


class SloSpec(_Strict):
    name: str
    objective: float
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    sli: SliSpec
    alerting: AlertingSpec = Field(default_factory=AlertingSpec)
    time_window: str = "30d"
    budgeting: Literal["occurrences", "timeslices"] = "occurrences"
    timeslice: TimesliceSpec | None = None


class ServiceSpec(_Strict):
    version: str
    service: str
    labels: dict[str, str] = Field(default_factory=dict)
    slos: list[SloSpec] = Field(default_factory=list)


# Defaults for `for:` where the spec says nothing (Sloth has none; a short `for` on the page
# filters one-scrape blips without hurting detection much).
DEFAULT_FOR = {"page": "2m", "ticket": "15m", "no_data": "10m", "budget_exhausted": "5m"}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def parse_spec(data: Any) -> ServiceSpec:
    """Validate a loaded YAML document; SpecError lists every problem with its field path."""
    try:
        spec = ServiceSpec.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise SpecError(problems) from exc
    problems = _semantic_problems(spec)
    if problems:
        raise SpecError(problems)
    return spec


def default_spec_path() -> Path:
    """The shipped default SLOs of the core API (``slo/specs/core-api.yaml``)."""
    return Path(str(resources.files("slo") / "specs" / "core-api.yaml"))


def load_spec(path: Path) -> ServiceSpec:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise SpecError([f"{path}: no such file; pass an existing spec"]) from exc
    except yaml.YAMLError as exc:
        raise SpecError([f"{path}: not valid YAML: {exc}"]) from exc
    if isinstance(data, dict) and data.get("apiVersion", "").startswith("openslo/"):
        raise SpecError([f"{path}: apiVersion: this is OpenSLO; use `covenant slo import`"])
    return parse_spec(data)


def load_group(path: Path) -> SLOGroup:
    return to_model(load_spec(path))


def _labels_problems(where: str, labels: dict[str, str]) -> list[str]:
    return [f"{where}.{k}: not a Prometheus label name; use [a-zA-Z_][a-zA-Z0-9_]*"
            for k in labels if not LABEL_NAME.match(k) or k.startswith("__")]


def _semantic_problems(spec: ServiceSpec) -> list[str]:
    p: list[str] = []
    if spec.version != VERSION:
        p.append(f"version: must be {VERSION!r}, got {spec.version!r}")
    if not _NAME.match(spec.service):
        p.append("service: required; letters, digits, '-', '_' and '.'")
    if not spec.slos:
        p.append("slos: at least one SLO is required")
    p += _labels_problems("labels", spec.labels)
    seen: set[str] = set()
    for i, slo in enumerate(spec.slos):
        where = f"slos[{i}]"
        if slo.name in seen:
            p.append(f"{where}.name: duplicate SLO name {slo.name!r}; names must be unique")
        seen.add(slo.name)
        p += _slo_problems(where, slo)
    return p


def _slo_problems(where: str, slo: SloSpec) -> list[str]:
    p: list[str] = []
    if not _NAME.match(slo.name):
        p.append(f"{where}.name: required; letters, digits, '-', '_' and '.'")
    if not 0 < slo.objective < 100:
        p.append(f"{where}.objective: {slo.objective} must be a percent in (0, 100), e.g. 99.9")
    if slo.time_window not in (*ROLLING, CALENDAR_MONTH):
        p.append(f"{where}.time_window: {slo.time_window!r}; use 7d, 28d, 30d or calendar-month")
    p += _labels_problems(f"{where}.labels", slo.labels)
    p += _sli_problems(f"{where}.sli", slo.sli)
    p += _alerting_problems(f"{where}.alerting", slo.alerting)
    if slo.budgeting == "timeslices":
        if slo.timeslice is None:
            p.append(f"{where}.timeslice: required when budgeting is timeslices")
        else:
            p += _duration_problem(f"{where}.timeslice.length", slo.timeslice.length)
            if not 0 < slo.timeslice.good_threshold <= 1:
                p.append(f"{where}.timeslice.good_threshold: must be in (0, 1]")
    return p


def _sli_problems(where: str, sli: SliSpec) -> list[str]:
    kinds = [k for k in SliKind if getattr(sli, k.value) is not None]
    if len(kinds) != 1:
        return [f"{where}: set exactly one of events, raw, ratio, latency, availability"
                f" (got {', '.join(kinds) or 'none'})"]
    p: list[str] = []
    if sli.events is not None:
        for key in ("error_query", "total_query"):
            if not _WINDOW_TPL.search(getattr(sli.events, key)):
                p.append(f"{where}.events.{key}: must use the {{{{.window}}}} template variable")
    if sli.raw is not None and not _WINDOW_TPL.search(sli.raw.error_ratio_query):
        p.append(f"{where}.raw.error_ratio_query: must use the {{{{.window}}}} template variable")
    for kind in ("ratio", "latency", "availability"):
        native = getattr(sli, kind)
        if native is None:
            continue
        if not LABEL_NAME.match(native.metric):
            p.append(f"{where}.{kind}.metric: {native.metric!r} is not a metric name")
        for key in ("selector", "error_selector"):
            try:
                parse_selector(getattr(native, key, ""))
            except ValueError as exc:
                p.append(f"{where}.{kind}.{key}: {exc}")
    if sli.latency is not None:
        try:
            float(sli.latency.threshold)
        except ValueError:
            p.append(f"{where}.latency.threshold: {sli.latency.threshold!r} is not a bucket le")
    return p


def _duration_problem(where: str, text: str) -> list[str]:
    try:
        parse_duration(text)
    except ValueError as exc:
        return [f"{where}: {exc}"]
    return []


def _alerting_problems(where: str, al: AlertingSpec) -> list[str]:
    p: list[str] = []
    enabled = not (al.page_alert.disable and al.ticket_alert.disable)
    if enabled and not _ALERT_NAME.match(al.name):
        p.append(f"{where}.name: required (an alert name like MyServiceHighErrorRate) "
                 "unless page_alert and ticket_alert are disabled")
    p += _labels_problems(f"{where}.labels", al.labels)
    for key in ("page_alert", "ticket_alert", "no_data", "budget_exhausted"):
        alert: AlertSpec = getattr(al, key)
        p += _labels_problems(f"{where}.{key}.labels", alert.labels)
        if alert.for_ is not None:
            p += _duration_problem(f"{where}.{key}.for", alert.for_)
    return p


def _sli(spec: SliSpec) -> Sli:
    w = "[{{.window}}]"
    if spec.events is not None:
        return Sli(SliKind.EVENTS, spec.events.error_query, spec.events.total_query)
    if spec.raw is not None:
        return Sli(SliKind.RAW, error_ratio_query=spec.raw.error_ratio_query)
    if spec.ratio is not None:
        sel, err = parse_selector(spec.ratio.selector), parse_selector(spec.ratio.error_selector)
        m = spec.ratio.metric
        # `or vector(0)`: error series often appear only after the first error.
        return Sli(SliKind.RATIO,
                   f"(sum(rate({render_selector(m, sel, err)}{w})) or vector(0))",
                   f"sum(rate({render_selector(m, sel)}{w}))",
                   metric=m, selector=sel, error_selector=err)
    if spec.latency is not None:
        sel, m = parse_selector(spec.latency.selector), spec.latency.metric + "_bucket"
        inf = render_selector(m, sel, (Matcher("le", "=", "+Inf"),))
        fast = render_selector(m, sel, (Matcher("le", "=", spec.latency.threshold),))
        return Sli(SliKind.LATENCY, f"(sum(rate({inf}{w})) - sum(rate({fast}{w})))",
                   f"sum(rate({inf}{w}))", metric=m, selector=sel,
                   threshold=spec.latency.threshold)
    assert spec.availability is not None
    sel, m = parse_selector(spec.availability.selector), spec.availability.metric
    return Sli(SliKind.AVAILABILITY,
               error_ratio_query=f"(1 - avg(avg_over_time({render_selector(m, sel)}{w})))",
               metric=m, selector=sel)


def _alert(name: str, kind: str, base: AlertingSpec, spec: AlertSpec) -> AlertMeta:
    return AlertMeta(name=name, disable=spec.disable,
                     labels={**base.labels, **spec.labels},
                     annotations={**base.annotations, **spec.annotations},
                     for_seconds=parse_duration(spec.for_ or DEFAULT_FOR[kind]))


def to_model(spec: ServiceSpec) -> SLOGroup:
    slos = []
    for s in spec.slos:
        al = s.alerting
        ts = (Timeslice(parse_duration(s.timeslice.length), s.timeslice.good_threshold)
              if s.timeslice is not None and s.budgeting == "timeslices" else None)
        slos.append(SLO(
            service=spec.service, name=s.name, objective=s.objective, sli=_sli(s.sli),
            period=parse_period(s.time_window),
            page=_alert(al.name, "page", al, al.page_alert),
            ticket=_alert(al.name, "ticket", al, al.ticket_alert),
            no_data=_alert(f"{al.name or 'SLO'}NoData", "no_data", al, al.no_data),
            exhausted=_alert(f"{al.name or 'SLO'}ErrorBudgetExhausted", "budget_exhausted",
                             al, al.budget_exhausted),
            description=s.description, labels={**spec.labels, **s.labels},
            budgeting=Budgeting(s.budgeting), timeslice=ts, runbook_url=al.runbook_url))
    return SLOGroup(spec.service, tuple(slos), spec.labels)
