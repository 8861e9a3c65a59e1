"""Reading a corpus in NAB's layout and writing results in NAB's results layout."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from anomaly.errors import AnomalyError
from anomaly.nab_scoring import CostProfile
from kernel.files import atomic_write

STANDARD_PROFILES = (
    CostProfile("standard", 1.0, 0.11, 1.0),
    CostProfile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    CostProfile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)


@dataclass(frozen=True)
class DataFile:
    """One series of the corpus, rows kept in file order."""

    name: str  # relative path, e.g. "realKnownCause/nyc_taxi.csv"
    timestamps: npt.NDArray[np.datetime64]
    values: npt.NDArray[np.float64]
    raw_timestamps: tuple[str, ...]

    def epochs(self) -> list[float]:
        """The timestamps as seconds since the epoch."""
        return epoch_seconds(self.timestamps).tolist()  # type: ignore[no-any-return]


def epoch_seconds(stamps: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
    return stamps.astype("datetime64[us]").astype(np.int64) / 1e6


def read_data_file(root: Path, name: str) -> DataFile:
    """Read ``root/name`` (``timestamp,value``), keeping order, duplicates and bad values."""
    path = root / name
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise AnomalyError(f"cannot read data file {path}: {exc}") from exc
    if rows and ("timestamp" not in rows[0] or "value" not in rows[0]):
        raise AnomalyError(f"{path} needs a 'timestamp,value' header")
    raw = tuple(r["timestamp"] for r in rows)
    values = np.array([_to_float(r["value"]) for r in rows], dtype=np.float64)
    stamps = np.array([np.datetime64(t.replace(" ", "T")) for t in raw], dtype="datetime64[us]")
    return DataFile(name=name, timestamps=stamps, values=values, raw_timestamps=raw)


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def list_data_files(root: Path) -> list[str]:
    """Relative paths of every CSV under ``root`` (folder/name), sorted."""
    if not root.is_dir():
        raise AnomalyError(f"data directory {root} does not exist; pass --data DIR")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.csv"))


def read_windows(path: Path) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """NAB's combined_windows.json: file -> [(start, end)], both ends inclusive."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AnomalyError(f"cannot read labels file {path}: {exc}") from exc
    return {
        name: [(_stamp(s), _stamp(e)) for s, e in spans] for name, spans in raw.items()
    }


def _stamp(text: str) -> np.datetime64:
    return np.datetime64(text.replace(" ", "T"), "us")


def read_profiles(path: Path | None) -> tuple[CostProfile, ...]:
    """NAB's profiles.json; the three standard profiles when no file is given."""
    if path is None:
        return STANDARD_PROFILES
    try:
        raw = json.loads(path.read_text())
        return tuple(
            CostProfile(
                name,
                float(p["CostMatrix"]["tpWeight"]),
                float(p["CostMatrix"]["fpWeight"]),
                float(p["CostMatrix"]["fnWeight"]),
            )
            for name, p in raw.items()
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnomalyError(f"bad profiles file {path}: {exc}") from exc


def result_path(out: Path, detector: str, name: str) -> Path:
    """``out/results/<detector>/<folder>/<detector>_<file>.csv``."""
    rel = Path(name)
    return out / "results" / detector / rel.parent / f"{detector}_{rel.name}"


def write_result(
    out: Path, detector: str, data: DataFile, scores: npt.NDArray[np.float64]
) -> Path:
    """Write one file's per-row scores; temp file then rename, so readers never see half."""
    path = result_path(out, detector, data.name)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["timestamp", "value", "anomaly_score"])
    for stamp, value, score in zip(data.raw_timestamps, data.values, scores, strict=True):
        writer.writerow([stamp, repr(float(value)), f"{float(score):.9f}"])
    atomic_write(path, buffer.getvalue())
    return path
