"""SLO periods and Prometheus durations: rolling 7d/28d/30d and the calendar month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
CALENDAR_MONTH = "calendar-month"
ROLLING = ("7d", "28d", "30d")


def parse_duration(text: str) -> int:
    """A Prometheus duration (``5m``, ``1h30m``, ``4w``) in whole seconds; ValueError if bad."""
    m = _DURATION.match(text.strip())
    if not text.strip() or m is None:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h, 30d")
    groups = m.groups()
    total = 0.0
    for unit, value in zip(("y", "w", "d", "h", "m", "s", "ms"), groups[1::2], strict=True):
        if value is not None:
            total += int(value) * _UNITS[unit]
    return int(total)


def prom_duration(seconds: int) -> str:
    """Format seconds the way Prometheus (and so Sloth) does: 28 days is ``4w``, 30 is ``30d``."""
    if seconds == 0:
        return "0s"
    out = []
    rest = seconds
    for unit in ("y", "w", "d", "h", "m", "s"):
        size = int(_UNITS[unit])
        # Like Prometheus: years and weeks only when exact (90d, not 12w6d).
        if unit in ("y", "w") and rest % size:
            continue
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out)


@dataclass(frozen=True)
class Period:
    """An SLO period: rolling (``seconds`` long) or the calendar month (30 days for alert math)."""

    name: str
    seconds: int
    calendar: bool = False

    @property
    def days(self) -> float:
        return self.seconds / 86400

    def start(self, now: float) -> float:
        """Where the period that contains ``now`` (unix seconds) begins."""
        if not self.calendar:
            return now - self.seconds
        dt = datetime.fromtimestamp(now, UTC)
        return datetime(dt.year, dt.month, 1, tzinfo=UTC).timestamp()


def parse_period(text: str) -> Period:
    """``7d``, ``28d``, ``30d`` (or any duration) or ``calendar-month``."""
    if text == CALENDAR_MONTH:
        # Alert factors use a 30-day month, like Sloth's default period.
        return Period(CALENDAR_MONTH, 30 * 86400, calendar=True)
    return Period(text, parse_duration(text))
