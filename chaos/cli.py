"""`covenant chaos proxy serve` and `covenant bench proxy`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

CONFIG_OPTION = typer.Option(
    None, "--config", help="JSON list of proxies to create at start (like POST /populate)."
)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app and its benchmarks to bench."""
    chaos_app = typer.Typer(help="Chaos engineering: fault injection.", no_args_is_help=True)
    proxy_app = typer.Typer(
        help="The embedded Toxiproxy-compatible fault proxy.", no_args_is_help=True
    )
    chaos_app.add_typer(proxy_app, name="proxy")
    app.add_typer(chaos_app, name="chaos")
    proxy_app.command("serve")(serve)
    bench.command("proxy")(bench_proxy)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="API address (loopback by default)."),
    port: int = typer.Option(8474, "--port", help="API port; 0 picks a free one."),
    config: Path | None = CONFIG_OPTION,
    use_uvloop: bool = typer.Option(True, "--uvloop/--no-uvloop", help="Use uvloop if installed."),
) -> None:
    """Serve the Toxiproxy HTTP API and its TCP proxies in one asyncio process."""
    import asyncio
    import logging

    from chaos.errors import ChaosError
    from chaos.runner import run
    from chaos.server import ToxiproxyServer

    log = logging.getLogger("chaos.serve")

    async def main() -> None:
        server = ToxiproxyServer(host=host, port=port)
        await server.start()
        typer.echo(f"Toxiproxy API on {server.url}", err=True)
        if config is not None:
            try:  # like Go's -config: failures are logged, the server keeps running
                await server.load_config(config)
            except ChaosError as exc:
                log.error("config %s not applied: %s", config, exc)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        run(main(), use_uvloop=use_uvloop)
    except ChaosError as exc:
        raise typer.BadParameter(str(exc), param_hint="--host/--port") from exc
    except KeyboardInterrupt:
        pass


def bench_proxy(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object last."),
    rounds: int = typer.Option(20, "--rounds", help="Alternating direct/proxied rounds."),
    transfers: int = typer.Option(5, "--transfers", help="1 MB transfers per mode per round."),
    trips: int = typer.Option(500, "--round-trips", help="Small round trips per mode per round."),
    connections: int = typer.Option(1000, "--connections", help="Concurrent connections held."),
) -> None:
    """Direct vs through the proxy (no toxics): 1 MB throughput, p99 round trip, 1,000 conns."""
    import logging

    from chaos.benchmark import run_proxy_bench

    logging.getLogger("httpx").setLevel(logging.WARNING)  # keep the output to the figures
    result = run_proxy_bench(rounds, transfers, trips, connections)
    figures = result.as_dict()
    for key, value in figures.items():
        typer.echo(f"{key:>24}: {value}")
    met = result.targets()
    typer.echo(
        f"targets: throughput >= 80% {'met' if met['throughput'] else 'NOT met'}; "
        f"added p99 < 1 ms {'met' if met['latency'] else 'NOT met'}; "
        f"{connections} connections {'held' if met['connections'] else 'FAILED'}"
    )
    if json_output:
        typer.echo(json.dumps(figures))
