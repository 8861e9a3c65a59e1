"""The ``cache_down`` and ``bus_down`` verdicts (pure): a region's Redis or NATS stopped
answering, as its own /metrics says (``RegionObservation.cache_up`` / ``bus_up``).

The region stays healthy meanwhile (reads miss the cache, events wait in the outbox), so
these stand beside the region's health, with the same hysteresis: a dependency is down
after ``degrade_after`` consecutive observations saying so, and up again after
``recover_after`` saying it answers. An observation that says nothing (no scrape this cycle,
or the dependency not configured) neither confirms nor clears: the state holds. ``since`` is
the observation that declared it down, so the trigger key
(``verdict:<name>:<region>:<since>``) repeats while it stands and a recovery then a new
failure is a new occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from controlplane.desired import HealthPolicy
from controlplane.observation import RegionObservation
from controlplane.triggers import RunbookTrigger

CACHE_DOWN = "cache_down"
BUS_DOWN = "bus_down"


@dataclass(frozen=True, slots=True)
class Dependency:
    verdict: str
    what: str        # for the reason line
    failing: str     # what "down" means, for the reason line
    up: Callable[[RegionObservation], bool | None]


def _cache_up(obs: RegionObservation) -> bool | None:
    return obs.cache_up


def _bus_up(obs: RegionObservation) -> bool | None:
    return obs.bus_up


DEPENDENCIES: tuple[Dependency, ...] = (
    Dependency(CACHE_DOWN, "Redis", "does not answer PING", _cache_up),
    Dependency(BUS_DOWN, "NATS", "refuses publishes (not connected)", _bus_up),
)


@dataclass(frozen=True, slots=True)
class DependencyHealth:
    down_streak: int = 0          # consecutive observations saying it does not answer
    up_streak: int = 0            # consecutive observations saying it does
    since: float | None = None    # down since (the observation that declared it); None: up


def step_dependency(before: DependencyHealth, up: bool | None, now: float,
                    policy: HealthPolicy) -> tuple[DependencyHealth, str]:
    """The next state of one region's dependency after one observation, and why."""
    if up is None:
        return before, "nothing observed: the state holds"
    if not up:
        streak = before.down_streak + 1
        if before.since is not None:
            return DependencyHealth(streak, 0, before.since), "still down"
        if streak >= policy.degrade_after:
            return DependencyHealth(streak, 0, now), f"down {streak} observations: down"
        return DependencyHealth(streak, 0, None), f"down {streak} observation(s): suspect"
    if before.since is None:
        return DependencyHealth(), "up"
    streak = before.up_streak + 1
    if streak < policy.recover_after:
        return DependencyHealth(0, streak, before.since), \
            f"up {streak} observation(s): still counted down"
    return DependencyHealth(), f"up {streak} observations: recovered"


DependencyStates = Mapping[tuple[str, str], DependencyHealth]  # (verdict, region) -> state


def step_dependencies(before: DependencyStates,
                      observations: Mapping[str, RegionObservation], now: float,
                      policy: HealthPolicy) -> dict[tuple[str, str], DependencyHealth]:
    """Every region's dependencies after this cycle; a region not observed holds."""
    after = dict(before)
    for region, obs in observations.items():
        for dep in DEPENDENCIES:
            key = (dep.verdict, region)
            state, _ = step_dependency(before.get(key, DependencyHealth()), dep.up(obs), now,
                                       policy)
            if state == DependencyHealth():
                after.pop(key, None)  # nothing to carry: keeps the state small
            else:
                after[key] = state
    return after


def dependency_triggers(states: DependencyStates) -> tuple[RunbookTrigger, ...]:
    """The standing ``cache_down`` / ``bus_down`` verdicts, one per region and dependency."""
    by_verdict = {d.verdict: d for d in DEPENDENCIES}
    out = []
    for (verdict, region), state in sorted(states.items()):
        if state.since is None:
            continue
        dep = by_verdict[verdict]
        out.append(RunbookTrigger(verdict, region, state.since,
                                  f"{region} {dep.what} {dep.failing}"))
    return tuple(out)
