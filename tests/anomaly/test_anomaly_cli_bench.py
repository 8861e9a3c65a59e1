"""``covenant anomaly bench`` and ``covenant anomaly plot`` on a tiny NAB-layout corpus."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from covenant.cli import app

T0 = datetime(2024, 1, 1)


def fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def make_corpus(root: Path) -> tuple[Path, Path]:
    """Two folders, three files; one spike and one level shift, each inside a window."""
    data = root / "data"
    windows: dict[str, list[list[str]]] = {}
    rng = np.random.default_rng(7)
    specs = {"folderA/spike.csv": ("spike", 300), "folderA/quiet.csv": (None, 0),
             "folderB/shift.csv": ("shift", 320)}
    for name, (kind, at) in specs.items():
        n = 400
        values = 50 + 5 * np.sin(np.arange(n) * 2 * np.pi / 96) + rng.normal(0, 0.5, n)
        if kind == "spike":
            values[at] += 40
        elif kind == "shift":
            values[at:] += 20
        stamps = [T0 + timedelta(minutes=15 * i) for i in range(n)]
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["timestamp", "value"])
            writer.writerows([fmt(t), f"{v:.3f}"] for t, v in zip(stamps, values, strict=True))
        windows[name] = (
            [[fmt(stamps[at - 10]) + ".000000", fmt(stamps[at + 10]) + ".000000"]] if kind else []
        )
    labels = root / "combined_windows.json"
    labels.write_text(json.dumps(windows))
    return data, labels


def test_bench_writes_nab_results_and_prints_the_three_profiles(tmp_path: Path) -> None:
    data, labels = make_corpus(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "anomaly", "bench", "--data", str(data), "--labels", str(labels), "--out", str(out),
        "--workers", "2", "--json",
    ])
    assert result.exit_code == 0, result.output
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert profile in result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["files"] == 3 and figures["rows"] == 1200
    assert set(figures["scores"]) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert figures["scores"]["standard"] > 50  # both anomalies are obvious here
    written = out / "results" / "covenant" / "folderB" / "covenant_shift.csv"
    with written.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == 400 and rows[0]["timestamp"] == fmt(T0)
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)


def test_null_detector_scores_zero(tmp_path: Path) -> None:
    data, labels = make_corpus(tmp_path)
    result = CliRunner().invoke(app, [
        "anomaly", "bench", "--data", str(data), "--labels", str(labels),
        "--out", str(tmp_path / "out"), "--detector", "null", "--workers", "1", "--json",
    ])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["scores"] == {"standard": 0.0, "reward_low_FP_rate": 0.0,
                                 "reward_low_FN_rate": 0.0}
    assert (tmp_path / "out" / "results" / "null" / "folderA" / "null_quiet.csv").exists()


def test_bench_reports_a_missing_label_entry(tmp_path: Path) -> None:
    data, labels = make_corpus(tmp_path)
    labels.write_text(json.dumps({}))
    result = CliRunner().invoke(app, [
        "anomaly", "bench", "--data", str(data), "--labels", str(labels),
        "--out", str(tmp_path / "out"), "--workers", "1",
    ])
    assert result.exit_code == 2
    assert "no entry in" in result.output


def test_plot_command_writes_a_png(tmp_path: Path) -> None:
    data, labels = make_corpus(tmp_path)
    png = tmp_path / "spike.png"
    result = CliRunner().invoke(app, [
        "anomaly", "plot", "--data", str(data / "folderA" / "spike.csv"),
        "--labels", str(labels), "--out", str(png),
    ])
    assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(b"\x89PNG")
