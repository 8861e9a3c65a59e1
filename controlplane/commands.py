"""`covenant` commands of the control plane: status (the region-failover benchmark is
``bench.cli``'s)."""

from __future__ import annotations

import contextlib

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app (``bench`` is unused: the benchmarks
    are registered by ``bench.cli``)."""
    app.command("status")(status)


def status(
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Control-plane API."),
    watch: bool | None = typer.Option(
        None, "--watch/--once", help="Refresh live, or print once. Default: live on a "
        "terminal, once when the output is a pipe or a file."),
    interval: float = typer.Option(1.0, "--interval", min=0.1),
    key_file: str | None = typer.Option(
        None, "--key-file", help="API key for the incidents (default: <data_dir>/admin.key, "
        "which `covenant up` makes)."),
) -> None:
    """The regions as a table: state, latency, errors, where traffic goes, incidents."""
    import asyncio
    import logging
    import sys
    from pathlib import Path

    from controlplane.runner import run_status
    from kernel.settings import load_settings

    path = Path(key_file) if key_file else Path(load_settings().data_dir) / "admin.key"
    key = path.read_text().strip() if path.exists() else None

    # httpx logs every request at INFO: one line per refresh would scroll the table away.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    live = sys.stdout.isatty() if watch is None else watch
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_status(url, live, interval, key))
