"""Prometheus rules for an SLO with Sloth's record names, labels and group names.

Three groups per SLO, as Sloth writes them (``sloth-slo-sli-recordings-<id>``,
``sloth-slo-meta-recordings-<id>``, ``sloth-slo-alerts-<id>``), so Sloth's Grafana dashboards
work unchanged. Beyond Sloth: the period window is traffic-weighted (a ratio of summed 5m event
rates, never an average of ratios, and 0 rather than NaN with no traffic); timeslice budgeting;
``for:`` on alerts; ``runbook_url``; a budget-exhausted alert and a no-data alert. Alerts drop
``sloth_window`` so one alert keeps one identity whichever window pair fires.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from slo.burn import BurnWindow, Severity, alert_windows, rule_windows
from slo.model import SLO, AlertMeta, Budgeting
from slo.period import prom_duration

SLOTH_VERSION = "covenant-0.1"
ERR = "slo:sli_error:ratio_rate{}"
ERR_EVENTS, TOTAL_EVENTS = "slo:sli_error_events:rate5m", "slo:sli_total_events:rate5m"
BAD_SLICE = "slo:sli_bad_timeslice:bool"
WINDOW = "sloth_window"


def fmt(x: float) -> str:
    """Floats as Go's %g prints them for these values: 30 not 30.0, 0.0005 as is."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@dataclass(frozen=True)
class Rule:
    expr: str
    record: str = ""
    alert: str = ""
    for_seconds: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"record": self.record} if self.record else {"alert": self.alert}
        out["expr"] = self.expr
        if self.alert and self.for_seconds:
            out["for"] = prom_duration(self.for_seconds)
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "rules": [r.to_dict() for r in self.rules]}


def id_filter(slo: SLO) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in slo.id_labels().items()) + "}"


_WINDOW_TPL = re.compile(r"\{\{\s*\.window\s*\}\}")


def _render(query: str, window: str) -> str:
    """Sloth's only template variable: ``{{.window}}`` (any spacing)."""
    return _WINDOW_TPL.sub(window, query)


def _error_ratio_expr(slo: SLO, window: str) -> str:
    if slo.sli.has_events:
        err, total = _render(slo.sli.error_query, window), _render(slo.sli.total_query, window)
        return f"({err})\n/\n({total})\n"
    return f"({_render(slo.sli.error_ratio_query, window)})\n"


def sli_rules(slo: SLO) -> tuple[Rule, ...]:
    ids, f = slo.id_labels(), id_filter(slo)
    labels = {**slo.labels, **ids}
    windows = rule_windows(slo.period)
    rules: list[Rule] = []
    if slo.budgeting is Budgeting.TIMESLICES and slo.timeslice is not None:
        slice_w = prom_duration(slo.timeslice.length_seconds)
        bad = 1 - slo.timeslice.good_threshold
        rules.append(Rule(f"({_error_ratio_expr(slo, slice_w).strip()}) > bool {fmt(bad)}\n",
                          record=BAD_SLICE, labels={**labels, WINDOW: slice_w}))
        for w in windows:
            ws = prom_duration(w)
            rules.append(Rule(f"avg_over_time({BAD_SLICE}{f}[{ws}])\n", record=ERR.format(ws),
                              labels={**labels, WINDOW: ws}))
        return tuple(rules)
    for w in windows[:-1]:
        ws = prom_duration(w)
        rules.append(Rule(_error_ratio_expr(slo, ws), record=ERR.format(ws),
                          labels={**labels, WINDOW: ws}))
    rules.append(_period_rule(slo, labels, windows[0]))
    if slo.sli.has_events:
        short = prom_duration(windows[0])
        rules.insert(1, Rule(_render(slo.sli.error_query, short) + "\n", record=ERR_EVENTS,
                             labels={**labels, WINDOW: short}))
        rules.insert(2, Rule(_render(slo.sli.total_query, short) + "\n", record=TOTAL_EVENTS,
                             labels={**labels, WINDOW: short}))
    return tuple(rules)


def _period_rule(slo: SLO, labels: dict[str, str], short_seconds: int) -> Rule:
    f, ps = id_filter(slo), prom_duration(slo.period.seconds)
    if slo.sli.has_events:
        # Traffic-weighted: sum of error rates over sum of total rates; clamp_min keeps a
        # no-traffic period at 0 instead of NaN.
        expr = (f"sum_over_time({ERR_EVENTS}{f}[{ps}])\n/ ignoring ({WINDOW})\n"
                f"clamp_min(sum_over_time({TOTAL_EVENTS}{f}[{ps}]), 1e-300)\n")
    else:
        short = ERR.format(prom_duration(short_seconds))
        expr = (f"sum_over_time({short}{f}[{ps}])\n/ ignoring ({WINDOW})\n"
                f"count_over_time({short}{f}[{ps}])\n")
    return Rule(expr, record=ERR.format(ps), labels={**labels, WINDOW: ps})


def meta_rules(slo: SLO) -> tuple[Rule, ...]:
    labels, f = {**slo.labels, **slo.id_labels()}, id_filter(slo)
    on = "on(sloth_id, sloth_slo, sloth_service) group_left"
    short = ERR.format(prom_duration(rule_windows(slo.period)[0]))
    period = ERR.format(prom_duration(slo.period.seconds))
    obj = slo.objective_ratio
    info = {**labels, "sloth_version": SLOTH_VERSION, "sloth_mode": "cli-gen-prom",
            "sloth_spec": "prometheus/v1", "sloth_objective": fmt(slo.objective)}
    return (
        Rule(f"vector({fmt(obj)})", record="slo:objective:ratio", labels=labels),
        Rule(f"vector(1-{fmt(obj)})", record="slo:error_budget:ratio", labels=labels),
        Rule(f"vector({fmt(slo.period.days)})", record="slo:time_period:days", labels=labels),
        Rule(f"{short}{f}\n/ {on}\nslo:error_budget:ratio{f}\n",
             record="slo:current_burn_rate:ratio", labels=labels),
        Rule(f"{period}{f}\n/ {on}\nslo:error_budget:ratio{f}\n",
             record="slo:period_burn_rate:ratio", labels=labels),
        Rule(f"1 - slo:period_burn_rate:ratio{f}", labels=labels,
             record="slo:period_error_budget_remaining:ratio"),
        Rule("vector(1)", record="sloth_slo_info", labels=info),
    )


def alert_threshold(window: BurnWindow, slo: SLO) -> str:
    return f"({fmt(window.factor)} * {fmt(slo.error_budget)})"


def mwmb_expr(slo: SLO, quick: BurnWindow, slow: BurnWindow) -> str:
    f = id_filter(slo)

    def half(w: BurnWindow) -> str:
        t = alert_threshold(w, slo)
        s = ERR.format(prom_duration(w.short_seconds))
        lg = ERR.format(prom_duration(w.long_seconds))
        return (f"    ({s}{f} > {t})\n    and ignoring ({WINDOW})\n"
                f"    ({lg}{f} > {t})\n")

    return (f"max without ({WINDOW}) (\n  (\n{half(quick)}  )\n  or ignoring ({WINDOW})\n"
            f"  (\n{half(slow)}  )\n)\n")


def _annotations(slo: SLO, meta: AlertMeta, title: str, summary: str) -> dict[str, str]:
    out = {"title": title, "summary": summary}
    if slo.runbook_url:
        out["runbook_url"] = slo.runbook_url
    return {**out, **meta.annotations}


def alert_rules(slo: SLO) -> tuple[Rule, ...]:
    svc, name = "{{$labels.sloth_service}}", "{{$labels.sloth_slo}}"
    wins = alert_windows(slo.period)
    # The id labels on the rule too (same values the series carry) keep two SLOs' alerts of
    # one name distinct rules for promtool's duplicate lint.
    ids = slo.id_labels()
    rules = []
    for meta, sev, (quick, slow) in ((slo.page, Severity.PAGE, wins[:2]),
                                     (slo.ticket, Severity.TICKET, wins[2:])):
        if meta.disable:
            continue
        rules.append(Rule(
            mwmb_expr(slo, quick, slow), alert=meta.name, for_seconds=meta.for_seconds,
            labels={**ids, "sloth_severity": sev.value, **meta.labels},
            annotations=_annotations(
                slo, meta, f"({sev.value}) {svc} {name} SLO error budget burn rate is too fast.",
                f"{svc} {name} SLO error budget burn rate is over expected.")))
    f = id_filter(slo)
    short = ERR.format(prom_duration(rule_windows(slo.period)[0]))
    if not slo.exhausted.disable:
        rules.append(Rule(
            f"slo:period_error_budget_remaining:ratio{f} <= 0", alert=slo.exhausted.name,
            for_seconds=slo.exhausted.for_seconds,
            labels={**ids, "sloth_severity": "ticket", **slo.exhausted.labels},
            annotations=_annotations(
                slo, slo.exhausted, f"(ticket) {svc} {name} SLO error budget is exhausted.",
                f"{svc} {name} has spent its whole error budget for the period; "
                "the error-budget policy freezes deploys and chaos.")))
    if not slo.no_data.disable:
        by = "sloth_id, sloth_service, sloth_slo"
        rules.append(Rule(
            f"absent({short}{f})\nor\ncount by ({by}) ({short}{f} != {short}{f})\n",
            alert=slo.no_data.name, for_seconds=slo.no_data.for_seconds,
            labels={**ids, "sloth_severity": "ticket", **slo.no_data.labels},
            annotations=_annotations(
                slo, slo.no_data, f"(ticket) {svc} {name} SLO has no SLI data.",
                f"{svc} {name}: the SLI is absent or has no traffic (NaN); budgets and burn "
                "alerts are blind.")))
    return tuple(rules)


def slo_groups(slo: SLO) -> tuple[RuleGroup, ...]:
    return (RuleGroup(f"sloth-slo-sli-recordings-{slo.id}", sli_rules(slo)),
            RuleGroup(f"sloth-slo-meta-recordings-{slo.id}", meta_rules(slo)),
            RuleGroup(f"sloth-slo-alerts-{slo.id}", alert_rules(slo)))


# libyaml's emitter when present: ~10x faster for 1,000-SLO rule files.
_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: object) -> str:
    """YAML with multi-line expressions as literal blocks, readable like Sloth's output."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120)


def render_rules(slos: Iterable[SLO]) -> str:
    groups = [g.to_dict() for slo in slos for g in slo_groups(slo)]
    header = "# Code generated by covenant slo generate (Sloth-compatible). DO NOT EDIT.\n"
    return header + dump_yaml({"groups": groups})
