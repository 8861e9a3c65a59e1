"""What the dashboards are generated from. The composition root fills this in from the
packages ``dashboards`` may not import (the SLO spec, the runbook library, the anomaly
watch); builders read nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.errors import DashboardError
from kernel.regions import CONTROL_PLANE_PORT, REGION_CODES

DEFAULT_CONTROL_PLANE_URL = f"http://127.0.0.1:{CONTROL_PLANE_PORT}"


@dataclass(frozen=True, slots=True)
class SloRef:
    """One SLO as its rules label it (``sloth_id``, ``sloth_service``, ``sloth_slo``)."""

    id: str
    service: str
    name: str
    objective: float  # percent
    category: str
    region: str  # "" for a global SLO
    alert: str  # the burn-rate alert's name
    runbook: str  # the shipped runbook its alerts link to


@dataclass(frozen=True)
class DashboardInputs:
    slos: tuple[SloRef, ...]
    runbooks: tuple[str, ...]  # ids of the shipped runbooks
    anomaly_metrics: tuple[str, ...]  # the anomaly watch's `metric` label values
    regions: tuple[str, ...] = REGION_CODES
    control_plane_url: str = DEFAULT_CONTROL_PLANE_URL

    def __post_init__(self) -> None:
        problems = [f"SLO {s.id} links runbook {s.runbook!r}, which is not shipped"
                    for s in self.slos if s.runbook not in self.runbooks]
        if problems:
            raise DashboardError("; ".join(problems) + f" (shipped: {', '.join(self.runbooks)});"
                                 " point the SLO's alerting.runbook_url at /runbooks/<id>")

    def runbook_url(self, runbook: str) -> str:
        """The page of a shipped runbook on the control plane; an unknown id is an error."""
        if runbook not in self.runbooks:
            raise DashboardError(f"runbook {runbook!r} is not shipped; use one of "
                                 f"{', '.join(self.runbooks)} or add runbooks/library/"
                                 f"{runbook}.yaml")
        return f"{self.control_plane_url}/runbooks/{runbook}"

    def services(self) -> tuple[str, ...]:
        return tuple(sorted({s.service for s in self.slos}))
