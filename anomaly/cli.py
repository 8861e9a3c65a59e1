"""`covenant` commands of the anomaly package."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app and its benchmarks to bench."""
    group = typer.Typer(help="Anomaly detection: Prophet bands, NAB benchmark, plots.",
                        no_args_is_help=True)
    app.add_typer(group, name="anomaly")
    group.command("bench")(nab_bench_command)
    group.command("plot")(plot_command)
    bench.command("anomaly")(perf_command)


def nab_bench_command(
    data: Path = typer.Option(..., "--data", help="Corpus root in NAB's layout (folder/file.csv)."),
    labels: Path = typer.Option(..., "--labels", help="NAB combined_windows.json."),
    out: Path = typer.Option(..., "--out", help="Results root; writes out/results/<detector>/."),
    detector: str = typer.Option("covenant", "--detector", help="covenant or null."),
    profiles: Path | None = typer.Option(None, "--profiles", help="NAB profiles.json "
                                         "(default: the three standard profiles)."),
    workers: int = typer.Option(2, "--workers", help="Processes (files run in parallel)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON last."),
) -> None:
    """Stream a NAB-layout corpus through a detector (row t's score uses rows <= t only),
    write NAB's results layout and print the standard, low-FP and low-FN scores."""
    from anomaly.errors import AnomalyError
    from anomaly.nab_report import run_and_score

    try:
        report = run_and_score(data, labels, out, detector, profiles, workers)
    except AnomalyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line in report.lines():
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))


def plot_command(
    data: Path = typer.Option(..., "--data", help="A timestamp,value CSV."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    labels: Path | None = typer.Option(None, "--labels", help="NAB windows JSON (to shade)."),
    name: str | None = typer.Option(None, "--name", help="Key of the file in the labels JSON "
                                    "(default: folder/file of --data)."),
    threshold: float = typer.Option(0.25, "--threshold", help="Scores >= this are flagged."),
) -> None:
    """Stream a series through the detector and draw it, its band and its flags to PNG."""
    from anomaly.errors import AnomalyError
    from anomaly.plot_series import plot_file

    try:
        png = plot_file(data, labels, name, threshold)
    except AnomalyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    out.write_bytes(png)
    typer.echo(f"wrote {out} ({len(png)} bytes)")


def perf_command(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON last."),
    regions: int = typer.Option(6, "--regions"),
    metrics: int = typer.Option(20, "--metrics"),
    days: float = typer.Option(14.0, "--days", help="Days of 1-minute points per series."),
    workers: int = typer.Option(2, "--workers", help="Concurrent Prophet fits."),
) -> None:
    """Scoring throughput against cached bands, refit time and resident memory of
    regions x metrics models."""
    from anomaly.perf import run_perf

    figures = run_perf(regions, metrics, days, workers)
    for key, value in figures.items():
        typer.echo(f"{key}: {value}")
    if as_json:
        typer.echo(json.dumps(figures))
