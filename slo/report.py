"""Human and JSON reports of a simulation (what `covenant slo simulate` prints)."""

from __future__ import annotations

from typing import Any

from slo.model import SLOGroup
from slo.period import prom_duration
from slo.promfn import STEP
from slo.simulate import Scenario, SimResult, SimulationError, simulate

_TAIL = 3 * 86400 + 3600  # after the incident: long enough for the slowest window to drain


def scenario_for(error_ratio: float, duration: int, warmup: int) -> Scenario:
    if not 0 < error_ratio <= 1:
        raise SimulationError(f"--error-ratio {error_ratio}: must be in (0, 1]")
    if duration < STEP:
        raise SimulationError("--for: at least 1m")
    start = (warmup // STEP) * STEP
    return Scenario(error_ratio, start, (duration // STEP) * STEP, start + duration + _TAIL)


def _rel(t: int | None, origin: int) -> str:
    if t is None:
        return "never"
    d = t - origin
    return ("+" if d >= 0 else "-") + prom_duration(abs(d))


def describe(res: SimResult) -> tuple[list[str], dict[str, Any]]:
    sc = res.scenario
    end = sc.start + sc.duration
    lines = [f"{res.slo.id} (objective {res.slo.objective}%, {res.slo.period.name}): "
             f"budget spent {res.budget_spent:.2%}"]
    alerts = []
    for t in res.timings:
        if t.detected_at is None:
            lines.append(f"  {t.alert} [{t.severity}]: does not fire")
            continue
        reset = ("still firing at the end of the simulation" if t.reset_at is None
                 else f"resets {_rel(t.reset_at, end)} after they stopped")
        lines.append(f"  {t.alert} [{t.severity}]: fires {_rel(t.detected_at, sc.start)} "
                     f"after the errors began, {reset}")
        alerts.append({"alert": t.alert, "severity": t.severity,
                       "detected_after_s": None if t.detected_at is None
                       else t.detected_at - sc.start,
                       "reset_after_end_s": None if t.reset_at is None else t.reset_at - end})
    return lines, {"slo": res.slo.id, "budget_spent": res.budget_spent, "alerts": alerts}


def simulate_report(group: SLOGroup, error_ratio: float, duration: int, warmup: int,
                    only: str = "") -> tuple[list[str], dict[str, Any]]:
    sc = scenario_for(error_ratio, duration, warmup)
    lines: list[str] = [f"incident: error ratio {error_ratio} for {prom_duration(duration)} "
                        f"after {prom_duration(sc.start)} of clean traffic"]
    out: list[dict[str, Any]] = []
    for slo in group.slos:
        if only and slo.name != only:
            continue
        try:
            res = simulate(slo, sc)
        except SimulationError as exc:
            lines.append(f"{slo.id}: not simulated: {exc}")
            continue
        text, data = describe(res)
        lines += text
        out.append(data)
    return lines, {"error_ratio": error_ratio, "duration_s": duration, "slos": out}
