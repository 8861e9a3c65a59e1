"""The dashboards package's one error base class."""

from __future__ import annotations


class DashboardError(Exception):
    """Anything wrong in dashboards: an input, a dashboard file, a Grafana or Prometheus call.
    The message names the bad thing and the fix."""


class LintFailed(DashboardError):
    """Generated or user dashboards break lint rules; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("dashboard lint failed:\n" + "\n".join(f"  {p}" for p in problems))
