"""`covenant chaos proxy serve` (`covenant bench proxy` is ``bench.cli``'s)."""

from __future__ import annotations

from pathlib import Path

import typer

CONFIG_OPTION = typer.Option(
    None, "--config", help="JSON list of proxies to create at start (like POST /populate)."
)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app (``bench`` is unused: the benchmarks
    are registered by ``bench.cli``)."""
    chaos_app = typer.Typer(help="Chaos engineering: fault injection.", no_args_is_help=True)
    proxy_app = typer.Typer(
        help="The embedded Toxiproxy-compatible fault proxy.", no_args_is_help=True
    )
    chaos_app.add_typer(proxy_app, name="proxy")
    app.add_typer(chaos_app, name="chaos")
    proxy_app.command("serve")(serve)


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
