"""Inputs -> models -> Grafana JSON -> lint -> writer: every dashboard, its ``.lint`` file and
the provisioning files, written only once all of them pass the linter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dashboards.anomaly import anomaly
from dashboards.errors import DashboardError, LintFailed
from dashboards.inputs import DashboardInputs
from dashboards.lint import PromqlChecker, expressions, lint
from dashboards.lint_config import LINT_FILE, config_text, parse_config
from dashboards.model import Dashboard
from dashboards.overview import overview
from dashboards.plane import plane
from dashboards.provisioning import Provisioning, dashboard_provider, datasource
from dashboards.region import region_dashboard
from dashboards.render import Json, dumps, to_json
from dashboards.slos import slos
from kernel.files import atomic_write

log = logging.getLogger(__name__)
Writer = Callable[[Path, str], None]
DASHBOARDS_DIR = "dashboards"
PROVIDER_FILE = Path("provisioning/dashboards/covenant.yaml")
DATASOURCE_FILE = Path("provisioning/datasources/covenant.yaml")


def write_file(path: Path, text: str) -> None:
    atomic_write(path, text)


def build_all(inputs: DashboardInputs) -> tuple[Dashboard, ...]:
    """Every dashboard, overview first; UIDs unique."""
    models = (overview(inputs), *(region_dashboard(inputs, r) for r in inputs.regions),
              slos(inputs), anomaly(inputs), plane(inputs))
    uids = [d.uid for d in models]
    duplicated = sorted({u for u in uids if uids.count(u) > 1})
    if duplicated:
        raise DashboardError(f"dashboard UIDs {duplicated} are used twice; give each "
                             "dashboard its own")
    return models


def rendered(inputs: DashboardInputs) -> dict[str, Json]:
    """{uid: dashboard JSON} of every dashboard."""
    return {d.uid: to_json(d, inputs) for d in build_all(inputs)}


def lint_all(models: tuple[Dashboard, ...], inputs: DashboardInputs,
             promql: PromqlChecker | None = None,
             jsons: Mapping[str, Json] | None = None) -> list[str]:
    """Every lint problem of the generated dashboards (``jsons``: already rendered, by UID),
    under the .lint file they ship."""
    config = parse_config(config_text(models))
    docs = [jsons[d.uid] if jsons else to_json(d, inputs) for d in models]
    if promql is not None:
        promql = _batched(promql, [e for doc in docs for _, e in expressions(doc)])
    return [str(p) for doc in docs for p in lint(doc, config, promql)]


def _batched(promql: PromqlChecker, exprs: list[str]) -> PromqlChecker:
    """One promtool run for every dashboard's expressions (not one per dashboard)."""
    found = promql(exprs)
    bad = {exprs[i]: error for i, error in found.items()}
    return lambda batch: {i: bad[e] for i, e in enumerate(batch) if e in bad}


@dataclass(frozen=True)
class Built:
    dashboards: tuple[Path, ...]
    lint_file: Path
    provisioning: tuple[Path, ...]


def generate(inputs: DashboardInputs, out: Path, provisioning: Provisioning, *,
             writer: Writer = write_file, promql: PromqlChecker | None = None) -> Built:
    models = build_all(inputs)
    jsons = {d.uid: to_json(d, inputs) for d in models}
    problems = lint_all(models, inputs, promql, jsons)
    if problems:
        raise LintFailed(problems)
    paths = []
    for d in models:
        paths.append(out / DASHBOARDS_DIR / d.file_name())
        writer(paths[-1], dumps(jsons[d.uid]))
    lint_path = out / DASHBOARDS_DIR / LINT_FILE
    writer(lint_path, config_text(models))
    writer(out / PROVIDER_FILE, dashboard_provider(provisioning))
    writer(out / DATASOURCE_FILE, datasource(provisioning))
    log.info("wrote %d dashboards and their provisioning under %s", len(paths), out)
    return Built(tuple(paths), lint_path, (out / PROVIDER_FILE, out / DATASOURCE_FILE))
