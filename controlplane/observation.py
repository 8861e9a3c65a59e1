"""One immutable snapshot per region per cycle: what the probes and the scrape saw."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProbeStatus(StrEnum):
    UP = "up"                    # /live, /ready and /health all answered 2xx
    NOT_READY = "not_ready"      # alive but /ready or /health said no (or 5xx)
    UNREACHABLE = "unreachable"  # /live failed: connection refused, reset or timed out


@dataclass(frozen=True, slots=True)
class RegionObservation:
    region: str
    at: float                 # when the cycle started (the injected clock), seconds
    status: ProbeStatus
    latency_s: float | None   # median of the three probes; None when unreachable
    requests: int             # HTTP requests counted since the previous scrape
    errors: int               # of those, 5xx responses
    scraped: bool             # whether /metrics answered this cycle
    detail: str = ""          # one line: what failed, for verdicts and incidents
    # Requests per second since the previous scrape (None: no previous scrape to diff).
    request_rate: float | None = None
    # p99 of the users' requests served since the previous scrape, from the region's
    # duration histogram (None: no previous scrape, or no user request in between).
    latency_p99_s: float | None = None
    # Whether the region's Redis answers and its NATS takes publishes, from its /metrics
    # (core_api.contract CACHE_UP, EVENT_BUS_UP); None when not scraped or not configured.
    cache_up: bool | None = None
    bus_up: bool | None = None

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 0.0
