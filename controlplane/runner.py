"""The async body of ``covenant status`` (the CLI stays thin)."""

from __future__ import annotations

import asyncio

import httpx
from rich.console import Console
from rich.live import Live

from controlplane.status import fetch, regions_table


async def run_status(url: str, watch: bool, interval: float, key: str | None = None,
                     console: Console | None = None) -> None:
    console = console or Console()
    headers = {"Authorization": f"Bearer {key}"} if key else {}  # incidents need a key
    async with httpx.AsyncClient(base_url=url, timeout=5, headers=headers) as client:
        if not watch:
            console.print(regions_table(*await fetch(client)))
            return
        with Live(regions_table([], []), console=console, refresh_per_second=4) as live:
            while True:
                try:
                    live.update(regions_table(*await fetch(client)))
                except httpx.HTTPError as exc:
                    live.update(f"[red]control plane at {url} not answering: {exc}[/]")
                await asyncio.sleep(interval)
