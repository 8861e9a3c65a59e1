"""`covenant api` and `covenant db upgrade|seed` (the benchmarks are ``bench.cli``'s)."""

from __future__ import annotations

import typer

REGION_HELP = "Region code: ams, iad, syd, sin, sfo or jnb."
REGIONS_OPTION = typer.Option(None, "--region", help=REGION_HELP + " Repeatable; default all six.")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app (``bench`` is unused: the benchmarks
    are registered by ``bench.cli``)."""
    register_service(app)


def register_service(app: typer.Typer) -> typer.Typer:
    """``api`` and ``db upgrade|seed`` on ``app``; returns the ``db`` group."""
    db = typer.Typer(help="The core API's databases: migrations and seed data.",
                     no_args_is_help=True)
    app.add_typer(db, name="db")
    app.command("api")(api)
    db.command("upgrade")(db_upgrade)
    db.command("seed")(db_seed)
    return db


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

    from core_api.app import create_app
    from core_api.logs import configure_json_logging
    from core_api.prepare import prepare_region
    from core_api.regions import default_port
    from kernel.settings import load_settings

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
    from core_api.prepare import upgrade_regions
    from kernel.settings import load_settings

    for url in upgrade_regions(load_settings(), _regions(region)):
        typer.echo(f"at head: {url}")


def db_seed(
    region: list[str] | None = REGIONS_OPTION,
) -> None:
    """Seed reference data and the deterministic projects (idempotent; upgrades first)."""
    _quiet_alembic()
    from core_api.prepare import seed_regions, upgrade_regions
    from kernel.settings import load_settings

    settings = load_settings()
    chosen = _regions(region)
    upgrade_regions(settings, chosen)
    for result in seed_regions(settings, chosen):
        typer.echo(f"{result.region}: {result.reference_rows_added} reference rows, "
                   f"{result.projects_added} projects added")
