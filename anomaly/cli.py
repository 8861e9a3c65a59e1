"""`covenant` commands of the anomaly package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[Path, typer.Option("--data", help="Corpus root in NAB's layout "
                                       "(folder/file.csv).")]
LabelsFile = Annotated[Path, typer.Option("--labels", help="NAB combined_windows.json.")]
OutDir = Annotated[Path, typer.Option("--out", help="Results root; writes "
                                      "OUT/results/<detector>/<folder>/<detector>_<file>.csv.")]
Detector = Annotated[str, typer.Option("--detector", help="covenant or null.")]
Profiles = Annotated[Path | None, typer.Option("--profiles", help="NAB profiles.json "
                                               "(default: the three standard profiles).")]
Workers = Annotated[int, typer.Option("--workers", help="Processes; files run in parallel.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object "
                                      "on the last line.")]
CsvFile = Annotated[Path, typer.Option("--data", help="A timestamp,value CSV.")]
PngFile = Annotated[Path, typer.Option("--out", help="PNG file to write.")]
OptLabels = Annotated[Path | None, typer.Option("--labels", help="NAB windows JSON to shade.")]
Name = Annotated[str | None, typer.Option("--name", help="The file's key in the labels JSON "
                                          "(default: folder/file of --data).")]
Threshold = Annotated[float, typer.Option("--threshold", help="Scores >= this are flagged.")]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app (``bench`` is unused: the benchmarks
    are registered by ``bench.cli``)."""
    group = typer.Typer(help="Anomaly detection: Prophet bands, the NAB benchmark, plots.",
                        no_args_is_help=True)
    app.add_typer(group, name="anomaly")
    group.command("bench")(nab_bench_command)
    group.command("plot")(plot_command)


def nab_bench_command(
    data: DataDir,
    labels: LabelsFile,
    out: OutDir,
    detector: Detector = "covenant",
    profiles: Profiles = None,
    workers: Workers = 2,
    as_json: AsJson = False,
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
    data: CsvFile,
    out: PngFile,
    labels: OptLabels = None,
    name: Name = None,
    threshold: Threshold = 0.25,
) -> None:
    """Stream a series through the detector; draw it, its band and its flags to PNG."""
    from anomaly.errors import AnomalyError
    from anomaly.plot_series import plot_file

    try:
        png = plot_file(data, labels, name, threshold)
    except AnomalyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    out.write_bytes(png)
    typer.echo(f"wrote {out} ({len(png)} bytes)")
