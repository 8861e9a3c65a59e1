"""Which reconciler verdicts start runbooks (pure): a region down, slow, or burning its
error budget.

The runbooks name these verdicts in their triggers (``verdict: region_down``). A trigger
stands for as long as its condition does: the reconciler hands the standing ones to its
``Runbook`` hook every cycle (as Alertmanager repeats a firing alert), and the runbook
dispatcher's key, ``verdict:<name>:<region>:<since>``, makes the repeats attach to the run
the first one started, or be refused once that run has ended. ``since`` is when the region
entered its current state, so a region that recovers and falls sick again starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controlplane.health import Health, RegionHealth

REGION_DOWN = "region_down"
LATENCY = "latency"
BUDGET_BURN = "budget_burn"
VERDICTS: Mapping[str, str] = {
    REGION_DOWN: "the reconciler marked the region down (unreachable)",
    LATENCY: "the region is degraded by latency (its median probe over slow_latency_s)",
    BUDGET_BURN: "the region is degraded by 5xx over the error-ratio threshold, or the SLO "
                 "policy found its error budget exhausted: the availability budget burns at "
                 "page speed",
}
# The one-line problems controlplane.health.classify gives (and the SLO policy's prefix).
_BY_PROBLEM: tuple[tuple[str, str], ...] = (
    ("slow:", LATENCY),
    ("erroring:", BUDGET_BURN),
    ("SLO policy:", BUDGET_BURN),
)


@dataclass(frozen=True, slots=True)
class RunbookTrigger:
    verdict: str
    region: str
    since: float   # when the region entered the state the verdict describes
    reason: str

    @property
    def key(self) -> str:
        """The runbook dispatcher's trigger key (one per occurrence)."""
        return f"verdict:{self.verdict}:{self.region}:{self.since:.0f}"


def runbook_verdict(health: RegionHealth) -> str | None:
    """The verdict a region's health stands for, None when it starts no runbook.

    Down is ``region_down`` whatever the cause. Degraded is ``latency`` when its last
    problem was slowness, ``budget_burn`` when it was 5xx (a 5% error ratio burns a 99.95%
    budget 100 times too fast) or the SLO policy; a region that is only not ready, or
    anomalous, has an incident but no runbook of its own. Recovering starts nothing."""
    if health.state is Health.DOWN:
        return REGION_DOWN
    if health.state is not Health.DEGRADED:
        return None
    return next((verdict for prefix, verdict in _BY_PROBLEM
                 if health.last_problem.startswith(prefix)), None)


def standing_triggers(healths: Mapping[str, RegionHealth]) -> tuple[RunbookTrigger, ...]:
    out = []
    for region, health in healths.items():
        verdict = runbook_verdict(health)
        if verdict is not None:
            out.append(RunbookTrigger(verdict, region, health.since,
                                      f"{region} {health.state}: {health.last_problem}"))
    return tuple(out)
