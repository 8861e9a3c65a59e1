"""The clock seam: one shape for every package, injectable so tests control time.

``now()`` is monotonic (the asyncio loop's base: deadlines, pacing, refit schedules);
``time()`` is wall-clock Unix seconds (what is recorded and shown). ``FakeClock`` moves only
when told to, and its ``sleep`` advances it, so a test of a timed behaviour runs instantly.
"""

from __future__ import annotations

import asyncio
import time as _time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def time(self) -> float:
        """Wall-clock Unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic`` (the same base as the asyncio loop), ``time.time``
    and ``asyncio.sleep``."""

    def now(self) -> float:
        return _time.monotonic()

    def time(self) -> float:
        return _time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock that moves only by ``advance`` or ``sleep``; wall time keeps its offset."""

    def __init__(self, start: float = 0.0, wall_offset: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_offset

    def now(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s); advance by >= 0")
        self._now += seconds

    def set(self, now: float) -> None:
        self._now = now

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)  # still yield, as a real sleep would


def utcnow(clock: Clock = SYSTEM_CLOCK) -> datetime:
    """The clock's wall time as an aware UTC datetime (what rows and events record)."""
    return datetime.fromtimestamp(clock.time(), UTC)
