"""`covenant api`, `covenant db upgrade|seed` and `covenant bench api`."""

from __future__ import annotations

import typer

REGION_HELP = "Region code: ams, iad, syd, sin, sfo or jnb."
REGIONS_OPTION = typer.Option(None, "--region", help=REGION_HELP + " Repeatable; default all six.")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app and its benchmarks to bench."""
    db = typer.Typer(help="The core API's databases: migrations and seed data.",
                     no_args_is_help=True)
    app.add_typer(db, name="db")
    app.command("api")(api)
    db.command("upgrade")(db_upgrade)
    db.command("seed")(db_seed)
    bench.command("api")(bench_api)
    from core_api import events_cli  # `covenant bench outbox`: the events helper's command

    events_cli.register_bench(bench)


def _quiet_alembic() -> None:
    import logging

    # Alembic narrates every plugin and step at INFO; keep the CLI's output to the results.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _regions(region: list[str] | None) -> list[str]:
    from core_api.regions import REGION_CODES

    chosen = region or list(REGION_CODES)
    bad = [r for r in chosen if r not in REGION_CODES]
    if bad:
        raise typer.BadParameter(f"{', '.join(bad)}: not a region; use {', '.join(REGION_CODES)}",
                                 param_hint="--region")
    return chosen


def api(
    region: str = typer.Option(..., "--region", help=REGION_HELP),
    port: int | None = typer.Option(None, "--port", help="Default: 8101 (ams) to 8106 (jnb)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    prepare: bool = typer.Option(True, "--prepare/--no-prepare",
                                 help="Upgrade and seed the database before serving."),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Serve one region's core API (JSON logs with trace ids on stderr)."""
    _quiet_alembic()
    import uvicorn

    from controlplane.settings import load_settings
    from core_api.app import create_app
    from core_api.logs import configure_json_logging
    from core_api.prepare import prepare_region
    from core_api.regions import default_port

    (region,) = _regions([region])
    configure_json_logging(log_level, region)
    settings = load_settings()
    if prepare:
        prepare_region(settings, region)
    chosen_port = default_port(region) if port is None else port  # 0 means "any free port"
    uvicorn.run(create_app(settings, region), host=host, port=chosen_port,
                log_config=None, access_log=False, loop="uvloop", http="httptools")


def db_upgrade(
    region: list[str] | None = REGIONS_OPTION,
) -> None:
    """Apply the Alembic migrations shipped in core_api to each region's database."""
    _quiet_alembic()
    from controlplane.settings import load_settings
    from core_api.prepare import upgrade_regions

    for url in upgrade_regions(load_settings(), _regions(region)):
        typer.echo(f"at head: {url}")


def db_seed(
    region: list[str] | None = REGIONS_OPTION,
) -> None:
    """Seed reference data and the deterministic projects (idempotent; upgrades first)."""
    _quiet_alembic()
    from controlplane.settings import load_settings
    from core_api.prepare import seed_regions, upgrade_regions

    settings = load_settings()
    chosen = _regions(region)
    upgrade_regions(settings, chosen)
    for result in seed_regions(settings, chosen):
        typer.echo(f"{result.region}: {result.reference_rows_added} reference rows, "
                   f"{result.projects_added} projects added")


def bench_api(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
    concurrency: int = typer.Option(32, "--concurrency", min=1, max=512),
    duration: float = typer.Option(5.0, "--duration", min=0.5, max=600.0,
                                   help="Seconds per scenario."),
    rate: float = typer.Option(200.0, "--rate", min=1.0, help="Open-loop read rate (req/s)."),
) -> None:
    """Region API on SQLite vs a bare FastAPI endpoint: latency, throughput, writes/s."""
    from core_api.bench import run_cli

    run_cli(as_json=as_json, concurrency=concurrency, duration=duration, rate=rate)
