"""`covenant` commands of the control plane: up, status, and the region-failover benchmark."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="covenant.yaml: regions, policies, ports, and settings (PostgreSQL, "
    "NATS and Redis URLs).")]
DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where the benchmark's stack keeps its files; default: a temporary "
    "directory.")]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app and its benchmarks to ``bench``."""
    app.command("up")(up)
    app.command("status")(status)
    bench.command("region-failover")(bench_region_failover)


def up(config: ConfigOption = None) -> None:
    """Start the whole stack: six region APIs behind their proxies, the front door, the
    control-plane API and the reconciler. Ctrl-C (or SIGTERM) stops it all cleanly."""
    from chaos.runner import run
    from controlplane.desired import default_desired, load_desired
    from controlplane.errors import ControlPlaneError
    from controlplane.runner import run_up
    from controlplane.settings import SettingsError, load_settings

    try:
        settings = load_settings(config)
        desired = load_desired(config) if config else default_desired()
        run(run_up(desired, settings))  # uvloop: the probes, front door and proxies share it
    except (ControlPlaneError, SettingsError) as exc:
        typer.echo(f"covenant up: {exc}", err=True)
        raise typer.Exit(1) from exc


def status(
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Control-plane API."),
    watch: bool = typer.Option(True, "--watch/--once", help="Refresh live, or print once."),
    interval: float = typer.Option(1.0, "--interval", min=0.1),
) -> None:
    """The regions as a live table: state, latency, errors, where traffic goes, incidents."""
    import asyncio

    from controlplane.runner import run_status

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_status(url, watch, interval))


def bench_region_failover(
    trials: int = typer.Option(10, "--trials", min=1, help="Trials per fault kind."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object "
                                 "on the last line."),
    data_dir: DataDirOption = None,
) -> None:
    """MTTD, time to reroute and client errors per fault kind under load; reconcile CPU; RSS."""
    from chaos.runner import run
    from controlplane.failover_bench import run_bench

    # The same event loop as `covenant up`, so the replica's pass CPU is the one it runs.
    run(run_bench(trials, as_json, data_dir))
