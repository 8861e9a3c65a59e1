"""Spec validation (every error with its field path), the default SLOs, OpenSLO round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from covenant.cli import app
from slo.errors import SpecError
from slo.model import Budgeting, SliKind
from slo.openslo import export_openslo, import_openslo
from slo.spec import default_spec_path, load_group, load_spec, parse_spec, to_model

SLOTH_EXAMPLE = """
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
      ticket_alert:
        labels:
          severity: "slack"
  - name: "raw"
    objective: 99
    sli:
      raw:
        error_ratio_query: sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def test_sloth_example_spec_loads() -> None:
    group = to_model(parse_spec(yaml.safe_load(SLOTH_EXAMPLE)))
    first, raw = group.slos
    assert first.id == "myservice-requests-availability" and first.sli.kind is SliKind.EVENTS
    assert first.labels == {"owner": "myteam"}
    assert first.page.labels == {"category": "availability", "severity": "pageteam"}
    assert first.period.name == "30d" and first.budgeting is Budgeting.OCCURRENCES
    assert raw.sli.kind is SliKind.RAW and raw.page.disable and raw.ticket.disable


def test_every_error_has_a_path() -> None:
    doc = {
        "version": "prometheus/v2",
        "service": "svc",
        "labels": {"bad-label": "x"},
        "slos": [
            {"name": "a", "objective": 120, "time_window": "9d",
             "sli": {"events": {"error_query": "sum(x)",
                                "total_query": "sum(rate(y[{{.window}}]))"}},
             "alerting": {"name": "A", "page_alert": {"for": "soon"}}},
            {"name": "a", "objective": 99, "sli": {}, "alerting": {"name": "B"}},
            {"name": "c", "objective": 99, "typo_field": 1,
             "sli": {"ratio": {"selector": "region=ams"}}},
        ],
    }
    with pytest.raises(SpecError) as err:
        parse_spec(doc)
    problems = err.value.problems
    assert problems == ["slos[2].typo_field: Extra inputs are not permitted"]
    del doc["slos"][2]["typo_field"]  # type: ignore[attr-defined]
    with pytest.raises(SpecError) as err:
        parse_spec(doc)
    text = "\n".join(err.value.problems)
    for path in ("version:", "labels.bad-label:", "slos[0].objective:", "slos[0].time_window:",
                 "slos[0].sli.events.error_query:", "slos[0].alerting.page_alert.for:",
                 "slos[1].name: duplicate", "slos[1].sli: set exactly one",
                 "slos[2].sli.ratio.selector:", "slos[2].alerting.name: required"):
        assert path in text, path


def test_default_core_api_slos() -> None:
    group = load_group(default_spec_path())
    by_name = {s.name: s for s in group.slos}
    assert len(group.slos) == 15
    for region in ("ams", "iad", "syd", "sin", "sfo", "jnb", "global"):
        assert by_name[f"availability-{region}"].objective == 99.95
        lat = by_name[f"latency-{region}"]
        assert lat.objective == 99.0 and lat.sli.threshold == "0.1"
    uptime = by_name["uptime-global"]
    assert uptime.objective == 99.99 and uptime.sli.kind is SliKind.AVAILABILITY
    assert uptime.sli.metric == "covenant_region_up"
    assert 'region="ams"' in by_name["availability-ams"].sli.total_query


def test_openslo_round_trip_is_lossless() -> None:
    spec = load_spec(default_spec_path())
    text = export_openslo(spec)
    kinds = [d["kind"] for d in yaml.safe_load_all(text)]
    assert kinds.count("SLO") == 15 and kinds.count("AlertPolicy") == 15 and "Service" in kinds
    assert import_openslo(text) == spec


def test_openslo_foreign_import() -> None:
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives: [{target: 0.995}]
  indicator:
    metadata: {name: checkout-ratio}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code!~"5.."}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total'}}}
"""
    group = to_model(import_openslo(text))
    slo = group.slos[0]
    assert slo.id == "checkout-checkout-availability" and slo.period.name == "28d"
    assert slo.objective == pytest.approx(99.5)
    assert slo.sli.total_query == "sum(rate(http_requests_total[{{.window}}]))"
    assert "- sum(rate(http_requests_total{code!~" in slo.sli.error_query
    with pytest.raises(SpecError, match="apiVersion"):
        import_openslo("apiVersion: v2\nkind: SLO\n")


def test_cli_validate(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["slo", "validate", str(default_spec_path())])
    assert ok.exit_code == 0 and "15 SLOs" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: prometheus/v1\nservice: s\nslos:\n- name: x\n  objective: 0\n"
                   "  sli: {ratio: {}}\n  alerting: {name: X}\n")
    res = runner.invoke(app, ["slo", "validate", str(bad)])
    assert res.exit_code == 1 and "slos[0].objective" in res.output


def test_cli_openslo_export_import(tmp_path: Path) -> None:
    runner = CliRunner()
    out, back = tmp_path / "o.yaml", tmp_path / "back.yaml"
    assert runner.invoke(app, ["slo", "export", str(default_spec_path()), "--out", str(out)]
                         ).exit_code == 0
    assert runner.invoke(app, ["slo", "import", str(out), "--out", str(back)]).exit_code == 0
    assert load_spec(back) == load_spec(default_spec_path())
