"""Per-(region, metric) state: recent raw points, the cached band, and the scorer."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from anomaly.band import BandCache
from anomaly.scoring import ResidualScorer, ScorerConfig


class SeriesKey(NamedTuple):
    """Identity of one monitored series (a tuple: hashed in C on every scored point)."""

    region: str
    metric: str

    def slug(self) -> str:
        """File-name-safe form used for persisted models."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.region)
        safe_metric = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.metric)
        return f"{safe}__{safe_metric}"


class PointHistory:
    """The newest ``size`` finite points in arrival order (a ring; O(1) append)."""

    def __init__(self, size: int) -> None:
        # Appends write to ``array`` buffers (cheaper per item than numpy); ``ts``/``values``
        # are numpy views of the same memory for the readers.
        self._ts = array("d", bytes(8 * size))
        self._values = array("d", bytes(8 * size))
        self.ts: npt.NDArray[np.float64] = np.frombuffer(self._ts, dtype=np.float64)
        self.values: npt.NDArray[np.float64] = np.frombuffer(self._values, dtype=np.float64)
        self.size = size
        self.count = 0

    def append(self, ts: float, value: float) -> None:
        i = self.count % self.size
        self._ts[i] = ts
        self._values[i] = value
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, len(self.ts))

    def arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Copies in arrival order, oldest first."""
        n = len(self.ts)
        if self.count <= n:
            return self.ts[: self.count].copy(), self.values[: self.count].copy()
        i = self.count % n
        return np.roll(self.ts, -i).copy(), np.roll(self.values, -i).copy()

    def nbytes(self) -> int:
        return int(self.ts.nbytes + self.values.nbytes)


@dataclass
class SeriesState:
    """Everything the detector holds for one series."""

    history: PointHistory
    scorer: ResidualScorer
    band: BandCache | None = None
    model_json: str | None = None
    points_since_fit: int = 0
    last_fit_clock: float = -math.inf
    last_value: float = math.nan
    last_score: float = 0.0
    fit_failures: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @classmethod
    def new(cls, history_points: int, scorer: ScorerConfig) -> SeriesState:
        return cls(history=PointHistory(history_points), scorer=ResidualScorer(scorer))

    def expected(self, ts: float) -> float:
        """The cached forecast at ``ts``; before any fit, the last value (a naive forecast)."""
        if self.band is None:
            return self.last_value
        return self.band.expected_at(ts)

    def nbytes(self) -> int:
        """Approximate resident bytes of this series' arrays and model."""
        band = self.band.nbytes() if self.band else 0
        model = len(self.model_json) if self.model_json else 0
        return self.history.nbytes() + band + model + self.scorer.nbytes()
