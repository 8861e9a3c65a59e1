"""OpenSLO v1 import and export (Service, SLO with an inline SLI, AlertPolicy, AlertCondition).

Export writes real OpenSLO: ``ratioMetric`` (counters, bad/total) for event SLIs and
``thresholdMetric`` for ratio-valued ones, the time window, budgeting method, objectives and
the four burn-rate alert conditions. What OpenSLO has no field for (selectors of the native
kinds, alert labels, ``for:``) rides along in the ``covenant.dev/spec`` annotation, so a
round trip is lossless. Import of foreign OpenSLO maps counter queries onto Sloth events.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from slo.burn import alert_windows
from slo.errors import SpecError
from slo.period import CALENDAR_MONTH, parse_period, prom_duration
from slo.spec import AlertingSpec, EventsSpec, RawSpec, ServiceSpec, SliSpec, SloSpec, parse_spec

API = "openslo/v1"
ANNOTATION = "covenant.dev/spec"


def _time_window(slo: SloSpec) -> list[dict[str, Any]]:
    if slo.time_window == CALENDAR_MONTH:
        return [{"duration": "1M", "isRolling": False,
                 "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "UTC"}}]
    return [{"duration": slo.time_window, "isRolling": True}]


def _indicator(spec: ServiceSpec, slo: SloSpec) -> dict[str, Any]:
    from slo.spec import to_model  # the model renders the native kinds' queries

    sli = next(s for s in to_model(ServiceSpec(version=spec.version, service=spec.service,
                                               slos=[slo])).slos).sli

    def prom(q: str) -> dict[str, Any]:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": q}}}

    if sli.has_events:
        body: dict[str, Any] = {"ratioMetric": {"counter": False, "bad": prom(sli.error_query),
                                                "total": prom(sli.total_query)}}
    else:
        body = {"thresholdMetric": prom(sli.error_ratio_query)}
    return {"metadata": {"name": f"{slo.name}-sli"}, "spec": body}


def export_openslo(spec: ServiceSpec) -> str:
    docs: list[dict[str, Any]] = [{"apiVersion": API, "kind": "Service",
                                   "metadata": {"name": spec.service, "labels": spec.labels},
                                   "spec": {"description": f"{spec.service} (from Covenant)"}}]
    for slo in spec.slos:
        policy = f"{slo.name}-burn-rate"
        objective: dict[str, Any] = {"displayName": slo.name, "target": slo.objective / 100}
        if slo.budgeting == "timeslices" and slo.timeslice is not None:
            objective |= {"timeSliceTarget": slo.timeslice.good_threshold,
                          "timeSliceWindow": slo.timeslice.length}
        native = {"service_labels": spec.labels,
                  "slo": slo.model_dump(mode="json", by_alias=True, exclude_defaults=True)}
        docs.append({"apiVersion": API, "kind": "SLO",
                     "metadata": {"name": slo.name, "labels": slo.labels,
                                  "annotations": {ANNOTATION: json.dumps(native, sort_keys=True)}},
                     "spec": {"description": slo.description, "service": spec.service,
                              "indicator": _indicator(spec, slo),
                              "timeWindow": _time_window(slo),
                              "budgetingMethod": slo.budgeting.capitalize(),
                              "objectives": [objective], "alertPolicies": [policy]}})
        docs.append(_alert_policy(slo, policy))
    return yaml.safe_dump_all(docs, sort_keys=False, width=120)


def _alert_policy(slo: SloSpec, name: str) -> dict[str, Any]:
    conditions = []
    for w in alert_windows(parse_period(slo.time_window)):
        cname = f"{slo.name}-{w.severity}-{prom_duration(w.long_seconds)}"
        conditions.append({"kind": "AlertCondition", "metadata": {"name": cname},
                           "spec": {"severity": w.severity.value, "condition": {
                               "kind": "burnrate", "op": "gt", "threshold": w.factor,
                               "lookbackWindow": prom_duration(w.long_seconds),
                               "alertAfter": prom_duration(w.short_seconds)}}})
    return {"apiVersion": API, "kind": "AlertPolicy", "metadata": {"name": name},
            "spec": {"alertWhenBreaching": True, "alertWhenResolved": False,
                     "conditions": conditions, "notificationTargets": []}}


def import_openslo(text: str) -> ServiceSpec:
    """OpenSLO documents (one service) -> the native spec, validated."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise SpecError([f"<openslo>: not valid YAML: {exc}"]) from exc
    bad = [f"documents[{i}].apiVersion: expected {API!r}" for i, d in enumerate(docs)
           if not isinstance(d, dict) or d.get("apiVersion") != API]
    if bad:
        raise SpecError(bad)
    services = [d for d in docs if d.get("kind") == "Service"]
    slos = [d for d in docs if d.get("kind") == "SLO"]
    service = (services[0]["metadata"]["name"] if services
               else (slos[0]["spec"].get("service", "") if slos else ""))
    labels: dict[str, str] = dict(services[0]["metadata"].get("labels") or {}) if services else {}
    out = []
    for i, d in enumerate(slos):
        native = ((d.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
        if native:
            data = json.loads(native)
            labels = {**data.get("service_labels", {}), **labels}
            out.append(SloSpec.model_validate(data["slo"]))
        else:
            out.append(_foreign_slo(d, f"documents[SLO {i}]"))
    return parse_spec(ServiceSpec(version="prometheus/v1", service=service, labels=labels,
                                  slos=out).model_dump(by_alias=True))


def _foreign_slo(doc: dict[str, Any], where: str) -> SloSpec:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    ind = (spec.get("indicator") or {}).get("spec") or {}
    objective = (spec.get("objectives") or [{}])[0]
    window = (spec.get("timeWindow") or [{}])[0]

    def q(part: dict[str, Any]) -> str:
        return str(((part.get("metricSource") or {}).get("spec") or {}).get("query", ""))

    if "ratioMetric" in ind:
        rm = ind["ratioMetric"]
        wrap = (lambda s: f"sum(rate({s}[{{{{.window}}}}]))") if rm.get("counter") else str
        total = wrap(q(rm["total"]))
        error = wrap(q(rm["bad"])) if "bad" in rm else f"({total} - {wrap(q(rm['good']))})"
        sli = SliSpec(events=EventsSpec(error_query=error, total_query=total))
    elif "thresholdMetric" in ind:
        sli = SliSpec(raw=RawSpec(error_ratio_query=q(ind["thresholdMetric"])))
    else:
        raise SpecError([f"{where}.spec.indicator.spec: need ratioMetric or thresholdMetric"])
    period = (CALENDAR_MONTH if not window.get("isRolling", True)
              else str(window.get("duration", "30d")))
    name = str(meta.get("name", ""))
    return SloSpec(name=name, objective=float(objective.get("target", 0)) * 100,
                   description=str(spec.get("description", "")), sli=sli,
                   labels=dict(meta.get("labels") or {}), time_window=period,
                   budgeting=str(spec.get("budgetingMethod", "Occurrences")).lower(),  # type: ignore[arg-type]
                   alerting=AlertingSpec(name="".join(p.capitalize() for p in name.split("-"))))
