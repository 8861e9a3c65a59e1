"""The one error base class of the slo package."""

from __future__ import annotations


class SloError(Exception):
    """Anything wrong in slo: a spec, a source, a store. The message names the thing and the fix."""


class MetricsSourceError(SloError):
    """A scrape or a Prometheus query failed or returned something unreadable."""


class SpecError(SloError):
    """An SLO spec is invalid; ``problems`` lists every error with the path of the bad field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid SLO spec:\n" + "\n".join(f"  {p}" for p in problems))
