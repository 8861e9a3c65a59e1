"""`covenant up`: the composition root's own command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="covenant.yaml: regions, policies, ports, and settings (PostgreSQL, "
    "NATS and Redis URLs).")]
WithPrometheus = Annotated[bool, typer.Option(
    "--with-prometheus", help="Also start Prometheus (:9090, scraping the stack with the SLO "
    "rules) and Alertmanager (:9093, to the control plane's webhook); needs the Debian "
    "packages prometheus and prometheus-alertmanager.")]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("up")(up)


def up(config: ConfigOption = None, with_prometheus: WithPrometheus = False) -> None:
    """Start the whole stack: six region APIs behind their proxies, the front door, the
    control-plane API and the reconciler. Ctrl-C (or SIGTERM) stops it all cleanly."""
    from chaos.runner import run
    from controlplane.desired import default_desired, load_desired
    from controlplane.errors import ControlPlaneError
    from covenant.monitoring import MonitoringOptions, require_tools, started_prometheus_url
    from covenant.preflight import check
    from covenant.up import run_up
    from infra.errors import InfraError
    from kernel.settings import SettingsError, load_settings

    try:
        settings = load_settings(config)
        desired = load_desired(config) if config else default_desired()
    except (ControlPlaneError, SettingsError) as exc:
        typer.echo(f"covenant up: {exc}", err=True)
        raise typer.Exit(1) from exc
    monitoring = MonitoringOptions() if with_prometheus else None
    # A prometheus_url naming the Prometheus about to start is not probed: it is not up yet.
    problems = check(settings, desired.region_names(),
                     started_prometheus_url(monitoring, desired.stack.host))
    if with_prometheus:
        try:
            require_tools()
        except InfraError as exc:
            problems.append(f"--with-prometheus: {exc}")
    for problem in problems:
        typer.echo(f"covenant up: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    try:
        run(run_up(desired, settings, monitoring=monitoring))  # uvloop: one loop for all
    except (ControlPlaneError, SettingsError, InfraError) as exc:
        typer.echo(f"covenant up: {exc}", err=True)
        raise typer.Exit(1) from exc
