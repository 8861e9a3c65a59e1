"""Saving and loading fitted models (Prophet's ``model_to_json``) and their cached bands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anomaly.band import BandCache
from anomaly.errors import AnomalyError
from anomaly.series import SeriesKey
from kernel.files import atomic_write

if TYPE_CHECKING:
    from anomaly.series import SeriesState


def model_json(model: object) -> str | None:
    """Prophet's JSON for a fitted model; None for a model that was never fitted (constant)."""
    from prophet.serialize import model_to_json

    from anomaly.forecast import prophet_deprecations_ignored

    if getattr(model, "history", None) is None:
        return None
    with prophet_deprecations_ignored():
        return str(model_to_json(model))  # type: ignore[arg-type]


def save_series(directory: Path, key: SeriesKey, state: SeriesState) -> Path:
    """Write ``<slug>.json`` atomically (temp file + rename)."""
    if state.band is None:
        raise AnomalyError(f"series {key.region}/{key.metric} has no band to save; refit first")
    directory.mkdir(parents=True, exist_ok=True)
    band = state.band
    doc = {
        "region": key.region,
        "metric": key.metric,
        "band": {
            "start": band.start,
            "step": band.step,
            "fitted_at": band.fitted_at,
            "expected": band.expected.tolist(),
        },
        "prophet": state.model_json,
    }
    path = directory / f"{key.slug()}.json"
    atomic_write(path, json.dumps(doc))
    return path


def load_all(directory: Path) -> Iterator[tuple[SeriesKey, BandCache, str | None]]:
    """Every persisted series in ``directory``."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            b = doc["band"]
            band = BandCache(
                start=float(b["start"]),
                step=float(b["step"]),
                expected=np.asarray(b["expected"], dtype=np.float64),
                fitted_at=float(b["fitted_at"]),
            )
            yield SeriesKey(doc["region"], doc["metric"]), band, doc.get("prophet")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnomalyError(f"corrupt model file {path}: {exc}; delete it to refit") from exc


def load_model(model_json_text: str) -> object:
    """A fitted Prophet model back from its JSON (for re-predicting a longer horizon)."""
    from prophet.serialize import model_from_json

    from anomaly.forecast import prophet_deprecations_ignored

    with prophet_deprecations_ignored():
        return model_from_json(model_json_text)
