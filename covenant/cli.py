"""The ``covenant`` command: one Typer app that each package registers its commands on.

Each package's ``cli`` module exposes ``register(app, bench)``; the benchmarks are all
``bench.cli``'s (``register(bench)``). Heavy imports (Prophet, uvicorn) stay inside the
command functions so ``covenant --help`` is instant.
"""

from __future__ import annotations

import logging

import typer

from anomaly import cli as anomaly_cli
from bench import cli as bench_cli
from chaos import cli as chaos_cli
from controlplane import commands as controlplane_cli
from controlplane.dbfailover import cli as dbfailover_cli
from core_api import cli as core_api_cli
from covenant import commands as covenant_cli
from covenant import keys_cli, observability, runbook_cli
from slo import cli as slo_cli

app = typer.Typer(
    name="covenant",
    help="Covenant: SRE, observability and compliance control plane for a six-region core API.",
    no_args_is_help=True,
    add_completion=False,
)
bench = typer.Typer(
    help="Benchmarks. Every one takes --json and then prints its figures as one JSON object "
    "on the last line.",
    no_args_is_help=True,
)
app.add_typer(bench, name="bench")

for module in (covenant_cli, chaos_cli, controlplane_cli, slo_cli, anomaly_cli,
               observability, runbook_cli, keys_cli):
    module.register(app, bench)
# The core API's `db` group (upgrade, seed) also holds the pairs' commands (pair, rejoin,
# switchover, failover): the service knows nothing of its supervisor, so they are added here.
dbfailover_cli.register(core_api_cli.register_service(app))
bench_cli.register(bench, build_observability=observability.build_everything)


@app.callback()
def _root(
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(message)s")
    # Alembic narrates every plugin it loads at INFO: noise in front of what a command says.
    if log_level.upper() != "DEBUG":  # per-plugin and per-request lines drown the output
        for noisy in ("alembic", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    app()
