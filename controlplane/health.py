"""The region health state machine (pure): healthy → degraded → down → recovering → healthy.

Hysteresis comes from consecutive-cycle thresholds and a minimum dwell in the sick states,
so one bad probe does not move traffic and a flapping region does not get it back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from controlplane.desired import HealthPolicy
from controlplane.observation import ProbeStatus, RegionObservation


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"
    RECOVERING = "recovering"


class Signal(StrEnum):
    GOOD = "good"
    BAD = "bad"          # slow, erroring, not ready, anomalous or out of budget
    MISSING = "missing"  # unreachable


@dataclass(frozen=True, slots=True)
class RegionHealth:
    state: Health = Health.HEALTHY
    since: float = 0.0
    bad_streak: int = 0
    missing_streak: int = 0
    good_streak: int = 0
    last_problem: str = ""


def classify(obs: RegionObservation | None, policy: HealthPolicy,
             extra_bad: str = "") -> tuple[Signal, str]:
    """The cycle's signal for one region and, when not good, the one-line reason."""
    if obs is None:
        return Signal.MISSING, "no observation this cycle"
    if obs.status is ProbeStatus.UNREACHABLE:
        return Signal.MISSING, obs.detail or "unreachable"
    if obs.status is ProbeStatus.NOT_READY:
        return Signal.BAD, obs.detail or "not ready"
    if obs.latency_s is not None and obs.latency_s > policy.slow_latency_s:
        return Signal.BAD, f"slow: probe took {obs.latency_s * 1000:.0f} ms " \
            f"(> {policy.slow_latency_s * 1000:.0f} ms)"
    if obs.requests >= policy.min_requests and obs.error_ratio > policy.error_ratio:
        return Signal.BAD, f"erroring: {obs.errors}/{obs.requests} 5xx " \
            f"({obs.error_ratio:.0%} > {policy.error_ratio:.0%})"
    if extra_bad:
        return Signal.BAD, extra_bad
    return Signal.GOOD, ""


def step(current: RegionHealth, signal: Signal, problem: str, now: float,
         policy: HealthPolicy) -> RegionHealth:
    """The next health of one region after one cycle's signal."""
    h = _count(current, signal, problem)
    dwelt = now - h.since
    if h.state is Health.HEALTHY:
        if h.bad_streak + h.missing_streak >= policy.degrade_after:
            return _enter(h, Health.DEGRADED, now)
    elif h.state is Health.DEGRADED:
        if h.missing_streak >= policy.down_after:
            return _enter(h, Health.DOWN, now)
        if h.good_streak >= 1 and dwelt >= policy.min_dwell_s:
            return _enter(h, Health.RECOVERING, now)
    elif h.state is Health.DOWN:
        if h.good_streak >= 1 and dwelt >= policy.min_dwell_s:
            return _enter(h, Health.RECOVERING, now)
    elif h.state is Health.RECOVERING:
        if signal is Signal.MISSING:
            return _enter(h, Health.DOWN, now)
        if signal is Signal.BAD:
            return _enter(h, Health.DEGRADED, now)
        if h.good_streak >= policy.recover_after and dwelt >= policy.min_dwell_s:
            return _enter(h, Health.HEALTHY, now)
    return h


def _count(h: RegionHealth, signal: Signal, problem: str) -> RegionHealth:
    if signal is Signal.GOOD:
        return replace(h, good_streak=h.good_streak + 1, bad_streak=0, missing_streak=0)
    if signal is Signal.MISSING:
        return replace(h, good_streak=0, missing_streak=h.missing_streak + 1,
                       last_problem=problem)
    return replace(h, good_streak=0, bad_streak=h.bad_streak + 1, missing_streak=0,
                   last_problem=problem)


def _enter(h: RegionHealth, state: Health, now: float) -> RegionHealth:
    # Streaks keep counting across the transition: the good cycle that enters recovery
    # already counts towards recover_after.
    return replace(h, state=state, since=now)


def serving(h: RegionHealth) -> bool:
    """Whether a region takes traffic: only when healthy (recovering is on probation)."""
    return h.state is Health.HEALTHY
