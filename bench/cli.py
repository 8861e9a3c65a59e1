"""``covenant bench ...``: every benchmark's command, registered on the root app's ``bench``
group by ``covenant.cli``.

Each takes ``--json`` and then prints its figures as one JSON object on the last line. Heavy
imports (Prophet, uvicorn, NATS) stay inside the command functions so ``covenant --help``
is instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from bench.dashboards import Build

AsJson = Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object "
                                      "on the last line.")]
DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where the benchmark's stack keeps its files; default: a temporary "
    "directory.")]


def register(bench: typer.Typer, build_observability: Build | None = None) -> None:
    """Add every benchmark to the ``bench`` group; ``build_observability`` (the composition
    root's dashboards and infra build) enables ``bench dashboards``."""
    bench.command("api")(bench_api)
    bench.command("outbox")(bench_outbox)
    bench.command("proxy")(bench_proxy)
    bench.command("region-failover")(bench_region_failover)
    bench.command("db-failover")(bench_db_failover)
    bench.command("slo")(bench_slo)
    bench.command("anomaly")(bench_anomaly)
    bench.command("anomaly-pass")(bench_anomaly_pass)
    bench.command("runbooks")(bench_runbooks)
    bench.command("frontdoor-tracing")(bench_frontdoor_tracing)
    bench.command("alert-path")(bench_alert_path)
    if build_observability is not None:
        bench.command("dashboards")(_bench_dashboards(build_observability))


def bench_api(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
    concurrency: int = typer.Option(32, "--concurrency", min=1, max=512),
    duration: float = typer.Option(5.0, "--duration", min=0.5, max=600.0,
                                   help="Seconds per scenario."),
    rate: float = typer.Option(200.0, "--rate", min=1.0, help="Open-loop read rate (req/s)."),
) -> None:
    """Region API on SQLite vs a bare FastAPI endpoint: latency, throughput, writes/s."""
    from bench.api import run_cli

    run_cli(as_json=as_json, concurrency=concurrency, duration=duration, rate=rate)


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

    from bench.outbox import result_dict, run_outbox_bench
    from kernel.settings import load_settings

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


def bench_proxy(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object last."),
    rounds: int = typer.Option(20, "--rounds", help="Alternating direct/proxied rounds."),
    transfers: int = typer.Option(5, "--transfers", help="1 MB transfers per mode per round."),
    trips: int = typer.Option(500, "--round-trips", help="Small round trips per mode per round."),
    connections: int = typer.Option(1000, "--connections", help="Concurrent connections held."),
) -> None:
    """Direct vs through the proxy (no toxics): 1 MB throughput, p99 round trip, 1,000 conns."""
    import logging

    from bench.proxy import run_proxy_bench

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


def bench_region_failover(
    trials: int = typer.Option(10, "--trials", min=1, help="Trials per fault kind."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object "
                                 "on the last line."),
    data_dir: DataDirOption = None,
) -> None:
    """MTTD, time to reroute and client errors per fault kind under load; reconcile CPU; RSS."""
    from bench.region_failover import run_bench
    from chaos.runner import run

    # The same event loop as `covenant up`, so the replica's pass CPU is the one it runs.
    run(run_bench(trials, as_json, data_dir))


def bench_db_failover(
    trials: int = typer.Option(20, "--trials", min=1, help="Kills per system."),
    as_json: AsJson = False,
    systems: str = typer.Option("native,patroni-default,patroni-tuned", "--systems",
                                help="Comma-separated: native (the failover as the "
                                "postgres-primary-down runbook, as in covenant up), "
                                "native-direct (no runbook), patroni-default, "
                                "patroni-tuned."),
    data_dir: DataDirOption = None,
) -> None:
    """A pair's primary killed under writes: RTO, detection, writes lost; Covenant's native
    failover side by side with Patroni + etcd (defaults, and ttl 10 / loop_wait 2)."""
    from bench.db_failover import run_cli

    run_cli(trials, as_json, systems, data_dir)


def bench_runbooks(
    as_json: AsJson = False,
    samples: int = typer.Option(200, "--samples", min=1, help="Alerts timed one by one."),
    distinct: int = typer.Option(500, "--distinct", min=1, help="Distinct alerts."),
    copies: int = typer.Option(20, "--copies", min=1, help="Notifications of each alert."),
    runs: int = typer.Option(10_000, "--runs", min=1, help="Runs in the store when paging."),
    data_dir: DataDirOption = None,
) -> None:
    """Runbooks through the control plane: alert -> first step, executor overhead per step,
    webhook throughput with duplicates (exactly one run per alert), paging 10,000 runs, RSS."""
    from bench.runbooks import run_cli

    run_cli(as_json, samples, distinct, copies, runs_in_store=runs, data_dir=data_dir)


def bench_frontdoor_tracing(
    as_json: AsJson = False,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Rounds per mode, taken "
                                        "in turns.")] = 6,
    requests: Annotated[int, typer.Option("--requests", min=100,
                                          help="Requests per round.")] = 10_000,
    connections: Annotated[int, typer.Option("--connections", min=1, max=256)] = 8,
) -> None:
    """The front door's CPU per relayed request with tracing off, on (every span exported
    over OTLP/HTTP), on with the client's traceparent, and on with 1% sampling."""
    from bench.frontdoor_tracing import run_cli

    run_cli(as_json, rounds, requests, connections)


def bench_alert_path(
    as_json: AsJson = False,
    data_dir: DataDirOption = None,
) -> None:
    """A region answering 5xx through its own fault switch until the SLO alert fires in
    Prometheus, Alertmanager notifies the control plane's webhook and the runbook starts:
    the time of each hop (the real stack, Prometheus and Alertmanager; 1 s scrapes)."""
    from bench.alert_path import run_cli

    run_cli(as_json, data_dir)


def bench_slo(
    slos: int = typer.Option(1000, "--slos", help="SLOs to generate rules for."),
    days: int = typer.Option(30, "--days", help="Days of 1-minute samples per region."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rule generation for 1,000 SLOs (+ promtool check) and 30 days of budget math."""
    from bench.slo import run

    figures = run(slos, days)
    if not as_json:
        for k, v in figures.items():
            typer.echo(f"{k}: {v}")
    typer.echo(json.dumps(figures))


def bench_anomaly(
    as_json: AsJson = False,
    regions: Annotated[int, typer.Option("--regions")] = 6,
    metrics: Annotated[int, typer.Option("--metrics")] = 20,
    days: Annotated[float, typer.Option("--days", help="Days of 1-minute points.")] = 14.0,
    workers: Annotated[int, typer.Option("--workers", help="Concurrent Prophet fits.")] = 2,
) -> None:
    """Scoring throughput against cached bands, refit time and resident memory of
    regions x metrics models."""
    from bench.anomaly import run_perf

    figures = run_perf(regions, metrics, days, workers)
    for key, value in figures.items():
        typer.echo(f"{key}: {value}")
    if as_json:
        typer.echo(json.dumps(figures))


def bench_anomaly_pass(
    as_json: AsJson = False,
    passes: Annotated[int, typer.Option("--passes", min=1, help="Measured reconcile passes "
                                        "per configuration (after 200 warm-up passes).")] = 200,
) -> None:
    """CPU of one reconcile pass on six regions (scripted observations, no network), without
    and with the anomaly watch."""
    from bench.anomaly_pass import run

    figures = run(passes)
    if not as_json:
        for key, value in figures.items():
            typer.echo(f"{key}: {value}")
    typer.echo(json.dumps(figures))


def _bench_dashboards(build: Build) -> Callable[..., None]:
    def bench_dashboards(
        as_json: AsJson = False,
        repeats: Annotated[int, typer.Option("--repeats", min=1, help="Builds after the "
                                             "first.")] = 5,
    ) -> None:
        """Build every dashboard (linted) and the Prometheus/Alertmanager config; < 2 s."""
        import logging

        from bench.dashboards import run

        for name in ("slo", "dashboards", "infra"):  # keep the output to the figures
            logging.getLogger(name).setLevel(logging.WARNING)
        figures = run(build, repeats)
        for key, value in figures.items():
            typer.echo(f"{key}: {value}")
        if as_json:
            typer.echo(json.dumps(figures))
    return bench_dashboards
