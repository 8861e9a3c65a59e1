"""``covenant bench outbox``: the events helper's command, registered by ``core_api.cli``."""

from __future__ import annotations

import json

import typer


def register_bench(bench: typer.Typer) -> None:
    bench.command("outbox")(bench_outbox)


def bench_outbox(
    events: int = typer.Option(5000, "--events", min=1, help="Events per phase."),
    nats_url: str = typer.Option(
        "", "--nats-url", help="NATS server (default: COVENANT_NATS_URL or 127.0.0.1:4222)."
    ),
    database_url: str = typer.Option(
        "", "--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)."
    ),
    batch_size: int = typer.Option(200, "--batch-size", min=1, help="Relay batch size."),
    writers: int = typer.Option(4, "--writers", min=1, help="Concurrent writer threads."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object of figures."),
) -> None:
    """Events/s through enqueue + outbox relay + NATS JetStream (end to end, and drain)."""
    import asyncio

    from controlplane.settings import load_settings
    from core_api.outbox_bench import result_dict, run_outbox_bench

    url = nats_url or load_settings().nats_url or "nats://127.0.0.1:4222"
    result = asyncio.run(
        run_outbox_bench(url, events=events, database_url=database_url or None,
                         batch_size=batch_size, writers=writers)
    )
    typer.echo(
        f"outbox on {result.database}, {result.events} events, {result.writers} writers, "
        f"batch {result.batch_size}, "
        f"NATS {url}\n"
        f"  enqueue+commit:                 {result.enqueue_commits_per_s:>9.1f} commits/s\n"
        f"  end to end (write -> stream):   {result.end_to_end_events_per_s:>9.1f} events/s\n"
        f"  relay drain of a backlog:       {result.drain_events_per_s:>9.1f} events/s\n"
        f"  stream messages (2 x events):   {result.stream_messages:>9d}"
    )
    if as_json:
        typer.echo(json.dumps(result_dict(result)))
