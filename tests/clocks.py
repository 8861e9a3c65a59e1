"""Clocks for tests that drive time from a shared list or tick once per reading."""

from __future__ import annotations

from kernel.clock import FakeClock


class ListClock(FakeClock):
    """Reads ``box[0]`` for both monotonic and wall time, so a test that moves a shared
    ``[t]`` moves every component holding this clock."""

    def __init__(self, box: list[float]) -> None:
        super().__init__()
        self.box = box

    def now(self) -> float:
        return self.box[0]

    def time(self) -> float:
        return self.box[0]


class Ticking(FakeClock):
    """Wall time that moves one second forward at every reading: 0, 1, 2, ..."""

    def __init__(self, first: float = 0.0) -> None:
        super().__init__(first - 1.0, wall_offset=0.0)

    def time(self) -> float:
        self.advance(1.0)
        return super().time()
