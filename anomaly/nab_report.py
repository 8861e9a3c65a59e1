"""One NAB run end to end: detect, write results, score, summarise."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from anomaly.detector import DetectorConfig
from anomaly.errors import AnomalyError
from anomaly.nab_bench import ProfileResult, evaluate, run_corpus
from anomaly.nab_corpus import list_data_files, read_data_file, read_profiles, read_windows


@dataclass(frozen=True)
class NabReport:
    """What ``covenant anomaly bench`` prints and saves."""

    detector: str
    files: int
    rows: int
    seconds: float
    results: list[ProfileResult]

    def lines(self) -> list[str]:
        out = [f"{self.detector}: {self.files} files, {self.rows} rows, {self.seconds:.1f} s"]
        for r in self.results:
            out.append(
                f"  {r.profile:<20} {r.score:6.1f}  (threshold {r.threshold:.4f}, windows "
                f"{r.windows_detected} caught / {r.windows_missed} missed, "
                f"{r.false_positive_rows} false-positive rows)"
            )
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "detector": self.detector,
            "files": self.files,
            "rows": self.rows,
            "seconds": round(self.seconds, 2),
            "scores": {r.profile: round(r.score, 2) for r in self.results},
            "results": [asdict(r) for r in self.results],
        }


def run_and_score(
    data: Path,
    labels: Path,
    out: Path,
    detector: str,
    profiles_path: Path | None,
    workers: int,
    config: DetectorConfig | None = None,
) -> NabReport:
    """Detect over every file under ``data``, write results under ``out``, score them."""
    windows = read_windows(labels)
    profiles = read_profiles(profiles_path)
    names = list_data_files(data)
    if not names:
        raise AnomalyError(f"no CSV files under {data}; expected folder/file.csv")
    unlabelled = [n for n in names if n not in windows]
    if unlabelled:
        raise AnomalyError(f"{len(unlabelled)} files have no entry in {labels}: {unlabelled[:3]}")
    started = time.perf_counter()
    runs = run_corpus(data, names, detector, out, config or DetectorConfig(), workers)
    files = [read_data_file(data, n) for n in names]
    results = evaluate(files, [r.scores for r in runs], windows, profiles)
    report = NabReport(
        detector=detector,
        files=len(names),
        rows=sum(len(f.values) for f in files),
        seconds=time.perf_counter() - started,
        results=results,
    )
    summary = out / "results" / detector / f"{detector}_scores.json"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps(report.as_dict(), indent=2))
    return report
