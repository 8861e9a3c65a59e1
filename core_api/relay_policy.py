"""The relay's pure decisions: how long to wait, when to back off, when to prune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff while the bus (or database) keeps failing."""

    base_s: float = 0.2
    factor: float = 2.0
    cap_s: float = 30.0

    def delay(self, consecutive_failures: int) -> float:
        """0 before any failure, then base, base*factor, ... capped at ``cap_s``."""
        if consecutive_failures <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * self.factor ** (consecutive_failures - 1))


def next_wait(
    published: int, batch_size: int, consecutive_failures: int,
    backoff: BackoffPolicy, poll_interval_s: float,
) -> float:
    """How long to wait before the next cycle (pure; the relay loop just obeys it).

    Failing: back off. A full batch went out: more are likely pending, go again now.
    Otherwise sleep until notified of a commit, or until the poll interval as a safety net.
    """
    if consecutive_failures > 0:
        return backoff.delay(consecutive_failures)
    if published >= batch_size:
        return 0.0
    return poll_interval_s


def prune_due(now: datetime, last_pruned: datetime | None, every: timedelta) -> bool:
    """Prune on the first idle cycle, then at most once per ``every``."""
    return last_pruned is None or now - last_pruned >= every
