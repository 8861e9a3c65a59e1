"""Wiring for ``dashboards/`` and ``infra/``: what they are generated from, taken from the
packages they may not import - the SLO spec (rules, names, runbook links), the runbook
library and the anomaly watch's metrics - and their commands on the ``covenant`` app."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dashboards import cli as dashboards_cli
from infra import cli as infra_cli

if TYPE_CHECKING:
    from dashboards.inputs import DashboardInputs, SloRef
    from slo.model import SLO

RUNBOOK_PATH = "/runbooks/"


def register(app: typer.Typer, bench: typer.Typer) -> None:
    dashboards_cli.register(app, dashboard_inputs)
    infra_cli.register(app, slo_rule_files)


def runbook_id(url: str) -> str:
    """The runbook a ``runbook_url`` names (``.../runbooks/<id>``); "" when it names none."""
    _, sep, rest = url.partition(RUNBOOK_PATH)
    return rest.strip("/") if sep else ""


def slo_ref(slo: SLO) -> SloRef:
    from dashboards.inputs import SloRef

    return SloRef(id=slo.id, service=slo.service, name=slo.name, objective=slo.objective,
                  category=slo.labels.get("category", ""), region=slo.labels.get("region", ""),
                  alert=slo.page.name, runbook=runbook_id(slo.runbook_url))


def dashboard_inputs() -> DashboardInputs:
    from controlplane.anomalies import METRICS
    from dashboards.inputs import DashboardInputs
    from runbooks.spec import load_library
    from slo.spec import default_spec_path, load_group

    slos = load_group(default_spec_path()).slos
    return DashboardInputs(slos=tuple(slo_ref(s) for s in slos),
                           runbooks=tuple(sorted(load_library())),
                           anomaly_metrics=tuple(METRICS))


def slo_rule_files() -> dict[str, str]:
    """The shipped SLOs' rule files as ``slo generate`` writes them: {file name: text}."""
    from slo.generate import generate
    from slo.spec import default_spec_path, load_group

    files: dict[str, str] = {}
    generate(load_group(default_spec_path()), Path("rules"), tests=False,
             writer=lambda path, text: files.__setitem__(path.name, text))
    return {name: text for name, text in files.items() if name.endswith(".rules.yml")}


def build_everything(out: Path) -> Mapping[str, float]:
    """``dashboards build`` (PromQL checked by promtool, as the command does) and ``infra
    generate`` into ``out``: seconds per stage, for ``covenant bench dashboards``."""
    from dashboards.generate import DASHBOARDS_DIR, generate
    from dashboards.promtool import check_promql
    from dashboards.provisioning import Provisioning
    from infra.generate import generate as generate_infra
    from infra.model import Endpoints, InfraSpec

    t0 = time.perf_counter()
    inputs, rules = dashboard_inputs(), slo_rule_files()
    t1 = time.perf_counter()
    generate(inputs, out / "grafana", Provisioning(str(out / "grafana" / DASHBOARDS_DIR),
                                                   "http://127.0.0.1:9090", "15s"),
             promql=check_promql)
    t2 = time.perf_counter()
    generate_infra(InfraSpec(Endpoints(), rules), out / "infra", token="bench")
    t3 = time.perf_counter()
    return {"inputs_s": t1 - t0, "dashboards_s": t2 - t1, "infra_s": t3 - t2}
