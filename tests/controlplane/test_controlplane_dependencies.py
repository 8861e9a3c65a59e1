"""The ``cache_down`` / ``bus_down`` verdicts (pure): the hysteresis of one dependency, then
through the real decide() and the observer's reduction of a scrape, so the key a run is
started under is the one a repeat and a new occurrence get."""

from __future__ import annotations

import pytest

from controlplane.decide import Inputs, ReconcilerState, decide
from controlplane.dependencies import (
    BUS_DOWN,
    CACHE_DOWN,
    DependencyHealth,
    dependency_triggers,
    step_dependency,
)
from controlplane.desired import HealthPolicy, SloPolicy, default_desired
from controlplane.observation import ProbeStatus, RegionObservation
from controlplane.observe import gauge_up, scrape_samples
from controlplane.triggers import RunbookTrigger
from core_api import contract

POLICY = HealthPolicy(degrade_after=2, down_after=3, recover_after=3, min_dwell_s=3.0)
DESIRED = default_desired(health=POLICY, slo=SloPolicy(enforce=False))
NAMES = DESIRED.region_names()
ANSWER = {"1": True, "0": False, "-": None}


@pytest.mark.parametrize(("before", "up", "after", "why"), [
    (DependencyHealth(), True, DependencyHealth(), "up"),
    (DependencyHealth(), None, DependencyHealth(), "nothing observed: the state holds"),
    (DependencyHealth(), False, DependencyHealth(1, 0, None), "down 1 observation(s): suspect"),
    (DependencyHealth(1, 0, None), False, DependencyHealth(2, 0, 50.0),
     "down 2 observations: down"),
    (DependencyHealth(1, 0, None), True, DependencyHealth(), "up"),  # one miss forgotten
    (DependencyHealth(1, 0, None), None, DependencyHealth(1, 0, None),
     "nothing observed: the state holds"),
    (DependencyHealth(5, 0, 10.0), False, DependencyHealth(6, 0, 10.0), "still down"),
    (DependencyHealth(5, 0, 10.0), True, DependencyHealth(0, 1, 10.0),
     "up 1 observation(s): still counted down"),
    (DependencyHealth(0, 2, 10.0), True, DependencyHealth(), "up 3 observations: recovered"),
    (DependencyHealth(0, 2, 10.0), False, DependencyHealth(1, 0, 10.0), "still down"),
    (DependencyHealth(0, 2, 10.0), None, DependencyHealth(0, 2, 10.0),
     "nothing observed: the state holds"),
])
def test_one_dependency_steps_with_hysteresis(before: DependencyHealth, up: bool | None,
                                              after: DependencyHealth, why: str) -> None:
    assert step_dependency(before, up, 50.0, POLICY) == (after, why)


def _obs(region: str, at: float, cache: str, bus: str) -> RegionObservation:
    return RegionObservation(region, at, ProbeStatus.UP, 0.01, 100, 0, True,
                             cache_up=ANSWER[cache], bus_up=ANSWER[bus])


def cycles(cache: str, bus: str = "", leader: bool = True
           ) -> tuple[list[tuple[RunbookTrigger, ...]], ReconcilerState]:
    """syd's cache and bus answer ``cache`` / ``bus`` (1, 0, - unknown) one cycle a second,
    the other regions' both answer: each cycle's triggers, and the last state."""
    bus = bus or "1" * len(cache)
    state, out = ReconcilerState(), []
    for i, (c, b) in enumerate(zip(cache, bus, strict=True)):
        obs = {n: _obs(n, 100.0 + i, c, b) if n == "syd" else _obs(n, 100.0 + i, "1", "1")
               for n in NAMES}
        decision = decide(DESIRED, obs, state, 100.0 + i, Inputs(leader=leader))
        state = decision.state
        out.append(decision.triggers)
    return out, state


@pytest.mark.parametrize(("cache", "bus", "keys"), [
    ("111", "111", []),
    ("110", "111", []),                                     # one miss: suspect only
    ("1100", "1111", ["verdict:cache_down:syd:103"]),
    ("1111", "1000", ["verdict:bus_down:syd:102"]),
    ("00", "00", ["verdict:bus_down:syd:101", "verdict:cache_down:syd:101"]),
    ("0-0", "111", ["verdict:cache_down:syd:102"]),         # no news does not break a streak
    ("0010", "1111", ["verdict:cache_down:syd:101"]),       # one answer does not clear it
    ("00111", "11111", []),                                 # recover_after answers do
    ("001110", "111111", []),                               # a new miss is only suspect
    ("0011100", "1111111", ["verdict:cache_down:syd:106"]),  # then a new occurrence
    ("-----", "-----", []),                                 # not configured: never down
])
def test_the_standing_triggers_of_a_regions_dependencies(cache: str, bus: str,
                                                        keys: list[str]) -> None:
    triggers, _ = cycles(cache, bus)
    assert sorted(t.key for t in triggers[-1]) == keys
    assert all(t.region == "syd" for t in triggers[-1])


def test_a_standing_verdict_repeats_its_key_and_a_new_failure_gets_a_new_one() -> None:
    triggers, _ = cycles("000000111000")
    keys = [t.key for c in triggers for t in c]
    assert keys == ["verdict:cache_down:syd:101"] * 7 + ["verdict:cache_down:syd:110"] * 2
    [first] = triggers[1]
    assert (first.verdict, first.reason) == (CACHE_DOWN, "syd Redis does not answer PING")


def test_a_standby_tracks_the_dependencies_but_hands_over_no_trigger() -> None:
    triggers, state = cycles("000", "000", leader=False)
    assert triggers == [(), (), ()]
    assert state.dependencies[(CACHE_DOWN, "syd")].since == 101.0
    assert state.dependencies[(BUS_DOWN, "syd")].since == 101.0
    # The new leader's first pass hands the same occurrence over, under the same key.
    obs = {n: _obs(n, 103.0, "0" if n == "syd" else "1", "1") for n in NAMES}
    decision = decide(DESIRED, obs, state, 103.0, Inputs(leader=True))
    assert sorted(t.key for t in decision.triggers) == [  # the bus: 1 answer of 3 so far
        "verdict:bus_down:syd:101", "verdict:cache_down:syd:101"]


def test_region_health_is_not_touched_by_its_dependencies() -> None:
    triggers, state = cycles("0000", "0000")
    assert {h.state.value for h in state.regions.values()} == {"healthy"}
    assert not state.incidents
    assert {t.verdict for t in triggers[-1]} == {CACHE_DOWN, BUS_DOWN}


def test_dependency_triggers_skip_the_suspect_ones() -> None:
    states = {(CACHE_DOWN, "ams"): DependencyHealth(1, 0, None),
              (BUS_DOWN, "ams"): DependencyHealth(3, 0, 7.4)}
    assert [t.key for t in dependency_triggers(states)] == ["verdict:bus_down:ams:7"]


def _scrape(*lines: str) -> str:
    return "".join(f"# TYPE {n} gauge\n{n}{{region=\"ams\"}} {v}\n" for n, v in
                   (line.split() for line in lines))


@pytest.mark.parametrize(("text", "cache", "bus"), [
    ("", None, None),                                            # not configured
    (_scrape(f"{contract.CACHE_UP} 1"), True, None),
    (_scrape(f"{contract.CACHE_UP} 0"), False, None),
    (_scrape(f"{contract.EVENT_BUS_UP} 0"), None, False),
    (_scrape(f"{contract.CACHE_UP} 1", f"{contract.EVENT_BUS_UP} 1"), True, True),
    ("garbage{", None, None),                                    # unparsable: no data
])
def test_the_scrape_says_whether_the_dependencies_answer(text: str, cache: bool | None,
                                                        bus: bool | None) -> None:
    samples = scrape_samples(text)
    assert (gauge_up(samples, contract.CACHE_UP),
            gauge_up(samples, contract.EVENT_BUS_UP)) == (cache, bus)
