"""Table-driven tests of the pairs' pure failover decision (controlplane.dbfailover.decide)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controlplane.dbfailover.decide import (
    DB_PRIMARY_DOWN,
    REPLICATION_LAG,
    Condition,
    PairHealth,
    decide_pairs,
    withdrawn,
)
from controlplane.dbfailover.observation import NodeProbe, PairObservation, Replica, parse_lsn
from controlplane.dbspec import FailoverPolicy
from controlplane.decide import ActionKind

POLICY = FailoverPolicy(down_after=2, sync_grace_s=3.0, resync_lag_bytes=1000)
SHORT = {ActionKind.FAILOVER_DB: "F", ActionKind.DB_SYNC_OFF: "-", ActionKind.DB_SYNC_ON: "+",
         ActionKind.OPEN_INCIDENT: "o", ActionKind.UPDATE_INCIDENT: "u",
         ActionKind.RESOLVE_INCIDENT: "r"}
SYNC = '"ams_b"'


def _standby(ok: bool = True) -> NodeProbe:
    if not ok:
        return NodeProbe("b", False, 0.001, "connection refused")
    return NodeProbe("b", True, 0.002, "", True, 1000, 1000, "")


def _primary(code: str) -> NodeProbe:
    """One letter per cycle of the primary's probe."""
    streaming = Replica("ams_b", "streaming", "sync", 1000)
    if code == "s":    # synchronous standby
        return NodeProbe("a", True, 0.002, "", False, 1000, None, SYNC, (streaming,))
    if code == "l":    # synchronous standby whose replay lags 60 s (threshold 30 s)
        return NodeProbe("a", True, 0.002, "", False, 1000, None, SYNC,
                         (replace(streaming, replay_lag_s=60.0),))
    if code == "a":    # standby connected but only potential / async
        return NodeProbe("a", True, 0.002, "", False, 1000, None, SYNC,
                         (replace(streaming, sync_state="potential"),))
    if code == "n":    # standby not replicating, primary still synchronous: writes wait
        return NodeProbe("a", True, 0.002, "", False, 1000, None, SYNC, ())
    if code == "A":    # asynchronous mode, standby streaming and close
        return NodeProbe("a", True, 0.002, "", False, 1500, None, "",
                         (replace(streaming, sync_state="async", flush_lsn=1200),))
    if code == "L":    # asynchronous mode, standby far behind
        return NodeProbe("a", True, 0.002, "", False, 90000, None, "",
                         (replace(streaming, sync_state="async", flush_lsn=1200),))
    if code == "N":    # asynchronous mode, no standby at all
        return NodeProbe("a", True, 0.002, "", False, 1500, None, "", ())
    if code == "r":    # answers, but in recovery
        return NodeProbe("a", True, 0.002, "", True, 1000, 1000, "")
    if code == "t":
        return NodeProbe("a", False, 0.5, "timed out after 0.5 s")
    return NodeProbe("a", False, 0.001, "connection refused")   # "x"


def _obs(code: str, at: float, standby_up: bool = True, busy: str = "",
         standby: str | None = "b", generation: int = 1) -> PairObservation:
    nodes = {"a": _primary(code)}
    if standby:
        nodes["b"] = _standby(standby_up)
    return PairObservation("ams", at, generation, "a", standby,
                           "ams_b" if standby else None, busy, nodes)


def run(codes: str, leader: bool = True, standby_up: bool = True, busy: str = "",
        standby: str | None = "b", state: PairHealth | None = None) -> tuple[str, PairHealth]:
    """One cycle per second per code; returns the actions of each cycle as letters
    separated by '|', and the last health."""
    health = {"ams": state} if state else {}
    out = []
    for i, code in enumerate(codes):
        d = decide_pairs(POLICY, {"ams": _obs(code, 100.0 + i, standby_up, busy, standby)},
                         health, 100.0 + i, leader)
        health = dict(d.state)
        out.append("".join(SHORT[a.kind] for a in d.actions) or ".")
    return "|".join(out), health["ams"]


@pytest.mark.parametrize(("codes", "expected"), [
    ("sss", ".|.|."),                          # steady
    ("sx", ".|."),                             # one failed probe: suspect, nothing done
    ("sxs", ".|.|."),                          # ... and cleared by the next good one
    ("st", ".|."),                             # one slow probe is not a failover either
    ("sxx", ".|.|oF"),                         # two in a row: incident and failover
    ("stx", ".|.|oF"),                         # a timeout and a refusal count alike
    ("sxxxx", ".|.|oF|.|."),                   # never twice in one incident
    ("srr", ".|.|oF"),                         # a primary in recovery takes no writes
    ("axx", ".|.|o"),                          # standby not synchronous: no failover
    ("saxx", ".|.|.|o"),                       # ... judged at the last observation
    ("nnnnn", ".|.|.|o-|-"),                   # standby lost: async after the grace (3 s),
    #                                            asked again while the primary still waits
    ("nnnnAs", ".|.|.|o-|+|r"),                # it returns close: sync again, resolved
    ("nnnnLL", ".|.|.|o-|u|."),                # it returns far behind: stays async
    ("nnnnLAs", ".|.|.|o-|u|+|r"),             # ... until it caught up
    ("nnnnxx", ".|.|.|o-|.|u"),                # primary dies while async: no failover
    ("NN", "o|."),                             # no standby at all: incident, once
])
def test_pair_decisions(codes: str, expected: str) -> None:
    assert run(codes)[0] == expected


def test_never_when_not_the_leader() -> None:
    assert run("sxxx", leader=False)[0] == ".|.|.|."


def test_not_while_another_process_holds_the_pair() -> None:
    actions, health = run("sxxx", busy="switchover by pid 42")
    assert actions == ".|.|.|." and health.condition is Condition.BUSY


def test_never_to_a_standby_that_does_not_answer() -> None:
    actions, health = run("sxx", standby_up=False)
    assert actions == ".|.|o" and health.condition is Condition.DOWN


def test_no_standby_no_failover() -> None:
    assert run("Nxx", standby=None)[0] == "o|.|u"


def test_the_failover_names_the_standby_and_the_incident() -> None:
    d1 = decide_pairs(POLICY, {"ams": _obs("s", 1.0)}, {}, 1.0, True)
    d2 = decide_pairs(POLICY, {"ams": _obs("x", 2.0)}, d1.state, 2.0, True)
    d3 = decide_pairs(POLICY, {"ams": _obs("x", 3.0)}, d2.state, 3.0, True)
    opened, failover = d3.actions
    assert failover.kind is ActionKind.FAILOVER_DB and failover.region == "ams"
    assert failover.incident_id == opened.incident_id and opened.incident_id.startswith("db-")
    assert "promote standby b, fence a" in failover.reason
    assert d2.verdicts[0].line == "ams db: primary a connection refused (1/2 probes)"
    assert d3.verdicts[0].line.endswith("fail over to b (synchronous at the last observation)")


def test_roles_changed_by_a_failover_start_afresh_and_resolve() -> None:
    _, health = run("sxx")
    assert health.failed_over and health.incident_id
    # the new generation: b primary with no standby, then a rejoined and synchronous
    promoted = PairObservation("ams", 10.0, 2, "b", None, None, "", {
        "b": NodeProbe("b", True, 0.002, "", False, 2000, None, "", ())})
    d = decide_pairs(POLICY, {"ams": promoted}, {"ams": health}, 10.0, True)
    assert [a.kind for a in d.actions] == [ActionKind.UPDATE_INCIDENT]
    assert "no standby (covenant db rejoin ams)" in d.actions[0].reason
    rejoined = PairObservation("ams", 11.0, 3, "b", "a", "ams_a", "", {
        "b": NodeProbe("b", True, 0.002, "", False, 2000, None, '"ams_a"',
                       (Replica("ams_a", "streaming", "sync", 2000),)),
        "a": NodeProbe("a", True, 0.002, "", True, 2000, 2000, "")})
    d = decide_pairs(POLICY, {"ams": rejoined}, d.state, 11.0, True)
    assert [a.kind for a in d.actions] == [ActionKind.RESOLVE_INCIDENT]


def test_suspicion_then_down_verdicts_change_once() -> None:
    health: dict[str, PairHealth] = {}
    changed = []
    for i, code in enumerate("ssxxx"):
        d = decide_pairs(POLICY, {"ams": _obs(code, float(i))}, health, float(i), True)
        health = dict(d.state)
        changed.append(d.verdicts[0].changed)
    assert changed == [True, False, True, True, False]


def triggers(codes: str, leader: bool = True, standby_up: bool = True) -> str:
    """One cycle per second per code, starting at 100: each cycle's standing runbook
    triggers as ``verdict@since``, separated by '|'."""
    health: dict[str, PairHealth] = {}
    out = []
    for i, code in enumerate(codes):
        d = decide_pairs(POLICY, {"ams": _obs(code, 100.0 + i, standby_up)}, health,
                         100.0 + i, leader)
        health = dict(d.state)
        assert all(t.region == "ams" and t.reason.startswith("ams db: ") for t in d.triggers)
        out.append(",".join(f"{t.verdict}@{t.since:g}" for t in d.triggers) or ".")
    return "|".join(out)


PD, LAG = DB_PRIMARY_DOWN, REPLICATION_LAG


@pytest.mark.parametrize(("codes", "kwargs", "expected"), [
    ("sss", {}, ".|.|."),                                  # healthy: nothing stands
    ("sxxx", {}, f".|.|{PD}@102|{PD}@102"),                # down: stands, since the incident
    ("sxs", {}, ".|.|."),                                  # suspect only: nothing
    ("axx", {}, f".|.|{PD}@102"),                          # failover refused: the run pages
    ("sxx", {"standby_up": False}, f".|.|{PD}@102"),      # ... and so for a dead standby
    ("sxxx", {"leader": False}, ".|.|.|."),                # a follower hands nothing over
    ("slllss", {}, f".|{LAG}@101|{LAG}@101|{LAG}@101|.|."),  # lag stands from its start
    ("lxx", {}, f"{LAG}@100|.|{PD}@102"),                  # a lag only known from a live primary
    ("lsl", {}, f"{LAG}@100|.|{LAG}@102"),                 # a new lag is a new occurrence
])
def test_standing_runbook_triggers(codes: str, kwargs: dict[str, bool], expected: str) -> None:
    assert triggers(codes, **kwargs) == expected


@pytest.mark.parametrize(("withdraw", "expected"), [
    (True, "F"),    # withdrawn (the region was held): the next pass issues it again
    (False, "."),   # issued and not withdrawn: never twice in one incident
])
def test_a_withdrawn_failover_is_issued_again(withdraw: bool, expected: str) -> None:
    _, health = run("sxx")
    assert health.failed_over
    again = withdrawn(health) if withdraw else health
    assert run("x", state=again)[0] == expected


@pytest.mark.parametrize(("text", "value"), [
    ("0/3000148", 0x3000148), ("1/0", 1 << 32), ("", None), (None, None)])
def test_parse_lsn(text: str | None, value: int | None) -> None:
    assert parse_lsn(text) == value
