"""``covenant bench dashboards``: every dashboard (linted) and the Prometheus and
Alertmanager configuration built from scratch, as ``dashboards build`` and ``infra
generate`` do; the target is under 2 s. The build itself is the composition root's
(``covenant.observability.build_everything``), handed in: ``bench`` sits below it."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

Build = Callable[[Path], Mapping[str, float]]
TARGET_S = 2.0


def _timed(build: Build, out: Path) -> tuple[float, Mapping[str, float]]:
    start = time.perf_counter()
    stages = build(out)
    return time.perf_counter() - start, stages


def run(build: Build, repeats: int = 5) -> dict[str, object]:
    """The first build (imports and all, as one CLI run pays) and ``repeats`` more."""
    with tempfile.TemporaryDirectory(prefix="covenant-bench-dashboards-") as tmp:
        first, _ = _timed(build, Path(tmp) / "first")
        runs = [_timed(build, Path(tmp) / f"run{i}") for i in range(repeats)]
        out = Path(tmp) / "first"
        dashboards = len(list((out / "grafana" / "dashboards").glob("*.json")))
        files = sum(1 for p in out.rglob("*") if p.is_file())
    seconds = [s for s, _ in runs]
    stages = {k: round(statistics.median(st[k] for _, st in runs), 4) for k in runs[0][1]}
    return {"first_build_s": round(first, 4), "build_s_median": round(statistics.median(seconds),
                                                                      4),
            "build_s_max": round(max(seconds), 4), **{f"median_{k}": v for k, v in
                                                       stages.items()},
            "dashboards": dashboards, "files": files, "target_s": TARGET_S,
            "target_met": max(first, *seconds) < TARGET_S}
