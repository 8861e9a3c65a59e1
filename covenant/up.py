"""The async body of ``covenant up``: start the stack, print what runs where and the
verdicts as they come, stop it all cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from controlplane.decide import Decision
from controlplane.desired import DesiredState
from covenant.monitoring import MonitoringOptions
from covenant.stack import Component, Stack
from kernel.files import atomic_write
from kernel.heap import settle_heap
from kernel.settings import Settings


def components_table(components: list[Component]) -> Table:
    table = Table(title="covenant up: what runs where")
    for column in ("component", "address", "detail"):
        table.add_column(column)
    for c in components:
        table.add_row(c.name, c.address, c.detail)
    return table


def verdict_printer(console: Console) -> Callable[[Decision], None]:
    def on_decision(decision: Decision) -> None:
        stamp = time.strftime("%H:%M:%S")
        for verdict in decision.verdicts:
            if verdict.changed:
                console.print(f"[bold]{stamp}[/] verdict  {verdict.line}")
        for action in decision.actions:
            console.print(f"[bold]{stamp}[/] action   {action.kind.value}: {action.reason}")
    return on_decision


def event_printer(console: Console, then: Callable[[], None]) -> Callable[[str], None]:
    """A supervised child exited or was restarted: print it at once, then ``then``."""
    def on_event(line: str) -> None:
        console.print(f"[bold]{time.strftime('%H:%M:%S')}[/] [yellow]process[/]  {line}")
        then()
    return on_event


async def run_up(desired: DesiredState, settings: Settings, console: Console | None = None,
                 monitoring: MonitoringOptions | None = None) -> None:
    console = console or Console()
    # The console shows verdicts and actions; per-request and per-pass logs would drown them.
    for noisy in ("httpx", "controlplane.reconciler", "chaos"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    described = Path(settings.data_dir) / "stack.json"

    def describe() -> None:  # every URL and pid, rewritten when a child is restarted
        if stack.api_url:
            atomic_write(described, json.dumps(stack.describe(), indent=2))

    stack = Stack(desired, settings, on_decision=verdict_printer(console),
                  monitoring_options=monitoring, on_event=event_printer(console, describe))
    console.print("starting six region APIs (first run migrates and seeds them)...")
    try:
        await stack.start()
        settle_heap()  # what start-up built lives as long as the process: out of the GC's way
        console.print(components_table(stack.components))
        describe()
        console.print("reconciler running; verdicts and actions follow. Ctrl-C stops.")
        await stop.wait()
        console.print("stopping...")
    finally:
        await stack.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    console.print("stopped cleanly.")
