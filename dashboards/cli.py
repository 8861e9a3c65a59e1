"""``covenant dashboards build | lint | push | preview``. The composition root registers
them with ``inputs``: what the dashboards are generated from (SLOs, runbooks, anomaly
metrics), which this package may not read itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from dashboards.inputs import DashboardInputs

InputsFactory = Callable[[], "DashboardInputs"]
PROMETHEUS_URL = "http://127.0.0.1:9090"
SkipPromql = Annotated[bool, typer.Option(
    "--skip-promql", help="Do not check PromQL with promtool (it needs the prometheus package).")]
PrometheusUrl = Annotated[str, typer.Option("--prometheus-url", help="Prometheus HTTP API.")]


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def register(app: typer.Typer, inputs: InputsFactory) -> None:
    dash = typer.Typer(help="Grafana dashboards: build, lint, push, preview.",
                       no_args_is_help=True)
    app.add_typer(dash, name="dashboards")
    dash.command("build")(_build(inputs))
    dash.command("lint")(lint)
    dash.command("push")(_push(inputs))
    dash.command("preview")(_preview(inputs))


def _build(inputs: InputsFactory) -> Callable[..., None]:
    def build(
        out: Annotated[Path, typer.Option("--out", help="Directory for the dashboards and "
                                          "their provisioning files.")],
        prometheus_url: PrometheusUrl = PROMETHEUS_URL,
        scrape_interval: Annotated[str, typer.Option(
            "--scrape-interval", help="Prometheus's scrape interval (Grafana's "
            "$__rate_interval follows it).")] = "15s",
        grafana_path: Annotated[str, typer.Option(
            "--grafana-path", help="Where Grafana reads the JSON (default: OUT/dashboards, "
            "absolute).")] = "",
        skip_promql: SkipPromql = False,
    ) -> None:
        """Every dashboard as Grafana JSON, linted, with Grafana's provisioning files."""
        from dashboards.errors import DashboardError
        from dashboards.generate import DASHBOARDS_DIR, generate
        from dashboards.promtool import check_promql
        from dashboards.provisioning import Provisioning

        path = grafana_path or str((out / DASHBOARDS_DIR).resolve())
        try:
            built = generate(inputs(), out, Provisioning(path, prometheus_url, scrape_interval),
                             promql=None if skip_promql else check_promql)
        except DashboardError as exc:
            _fail(str(exc))
            return
        typer.echo(f"wrote {len(built.dashboards)} dashboards, {built.lint_file.name} and "
                   f"{len(built.provisioning)} provisioning files under {out}")
    return build


def lint(
    directory: Annotated[Path, typer.Argument(help="A directory of dashboard JSON files (and "
                                              "its .lint exclusions).")],
    skip_promql: SkipPromql = False,
) -> None:
    """grafana/dashboard-linter's rules on every *.json under DIRECTORY."""
    from dashboards.errors import DashboardError
    from dashboards.lint import lint as run
    from dashboards.lint_config import load_config
    from dashboards.promtool import check_promql

    folder = directory / "dashboards" if (directory / "dashboards").is_dir() else directory
    files = sorted(folder.glob("*.json"))
    if not files:
        _fail(f"{folder}: no dashboard *.json files; pass the --out of `covenant dashboards "
              "build` or a folder of dashboards")
    try:
        config = load_config(folder)
        problems = [f"{f.name}: {p}" for f in files
                    for p in run(_read(f), config, None if skip_promql else check_promql)]
    except DashboardError as exc:
        _fail(str(exc))
        return
    for line in problems:
        typer.echo(line)
    typer.echo(f"{len(files)} dashboards, {len(problems)} problems")
    if problems:
        raise typer.Exit(1)


def _read(path: Path) -> dict[str, Any]:
    from dashboards.errors import DashboardError

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DashboardError(f"{path}: not a readable JSON dashboard ({exc})") from exc
    if not isinstance(data, dict):
        raise DashboardError(f"{path}: a dashboard is a JSON object")
    return data


def _push(inputs: InputsFactory) -> Callable[..., None]:
    def push(
        grafana_url: Annotated[str, typer.Option("--grafana-url", help="Grafana's base URL.")],
        token: Annotated[str, typer.Option("--token", envvar="COVENANT_GRAFANA_TOKEN",
                                           help="Service account token (Editor).")],
        source: Annotated[Path | None, typer.Option(
            "--from", help="Push these JSON files (a build's --out) instead of generating "
            "them now.")] = None,
    ) -> None:
        """Upload every dashboard to Grafana (folder Covenant, overwrite)."""
        from dashboards.errors import DashboardError
        from dashboards.generate import rendered
        from dashboards.push import push as run

        try:
            dashboards = [_read(f) for f in sorted(_json_dir(source).glob("*.json"))] \
                if source else list(rendered(inputs()).values())
            done = run(dashboards, grafana_url, token)
        except DashboardError as exc:
            _fail(str(exc))
            return
        for p in done:
            typer.echo(f"{p.uid}: version {p.version} {p.url}")
    return push


def _json_dir(source: Path) -> Path:
    return source / "dashboards" if (source / "dashboards").is_dir() else source


def _preview(inputs: InputsFactory) -> Callable[..., None]:
    def preview(
        dashboard: Annotated[str, typer.Argument(help="A dashboard UID (e.g. covenant-overview,"
                                                 " covenant-region-ams) or a JSON file.")],
        out: Annotated[Path, typer.Option("--out", help="Directory for the PNGs.")],
        prometheus_url: PrometheusUrl = PROMETHEUS_URL,
        since: Annotated[float, typer.Option("--since", help="Minutes of history.")] = 15.0,
        step: Annotated[float, typer.Option("--step", help="Seconds between points.")] = 5.0,
        variables: Annotated[list[str] | None, typer.Option(
            "--var", help="NAME=VALUE for a template variable (repeatable).")] = None,
        per_panel: Annotated[bool, typer.Option("--per-panel", help="Also one PNG per "
                                                "panel.")] = False,
    ) -> None:
        """Render a dashboard from Prometheus data to PNG, laid out as Grafana would."""
        import logging
        import time

        from dashboards.errors import DashboardError
        from dashboards.preview import check_window, render
        from dashboards.prometheus import Prometheus, Window

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per query otherwise
        now = time.time()
        window = Window(now - since * 60, now, step)
        try:
            check_window(window)
            data = _dashboard(dashboard, inputs)
            given = dict(_pair(v) for v in variables or [])
            with Prometheus(prometheus_url) as prom:
                done = render(data, prom, window, out, given, per_panel)
        except DashboardError as exc:
            _fail(str(exc))
            return
        typer.echo(f"wrote {done.dashboard}" + (f" and {len(done.panels)} panel PNGs"
                                                if done.panels else ""))
    return preview


def _dashboard(name: str, inputs: InputsFactory) -> dict[str, Any]:
    from dashboards.errors import DashboardError
    from dashboards.generate import rendered

    if name.endswith(".json"):
        return _read(Path(name))
    every = rendered(inputs())
    if name not in every:
        raise DashboardError(f"no dashboard {name!r}; use one of {', '.join(every)} or a "
                             "JSON file")
    return every[name]


def _pair(text: str) -> tuple[str, str]:
    from dashboards.errors import DashboardError

    name, sep, value = text.partition("=")
    if not sep or not name:
        raise DashboardError(f"--var {text!r}: write NAME=VALUE, e.g. --var region=syd")
    return name, value

