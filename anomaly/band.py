"""A forecast cached over a regular time grid: O(1) lookup of the expected value at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class BandCache:
    """``expected[i]`` is the forecast at ``start + i * step`` (epoch seconds).

    The band's half-width is not stored here: it comes from the scorer's live residual scale, so
    it tightens or widens between refits without another Prophet call.
    """

    start: float
    step: float
    expected: npt.NDArray[np.float64]
    fitted_at: float  # epoch seconds of the newest row the model was fitted on
    last: int = field(init=False)  # index of the last grid point (read on every scored point)

    def __post_init__(self) -> None:
        object.__setattr__(self, "last", len(self.expected) - 1)

    @property
    def end(self) -> float:
        """Epoch seconds of the last grid point."""
        return self.start + self.step * (len(self.expected) - 1)

    def index(self, ts: float) -> int:
        """Grid index nearest to ``ts``, clamped to the grid (pure arithmetic, no search)."""
        i = int(round((ts - self.start) / self.step))
        last = self.last
        return 0 if i < 0 else (last if i > last else i)

    def expected_at(self, ts: float) -> float:
        """The cached forecast nearest to ``ts``."""
        return float(self.expected.item(self.index(ts)))

    def covers(self, ts: float) -> bool:
        """Whether ``ts`` falls within the cached horizon (half a step of slack each side)."""
        return self.start - self.step / 2 <= ts <= self.end + self.step / 2

    def nbytes(self) -> int:
        """Memory held by the cached grid."""
        return int(self.expected.nbytes)
