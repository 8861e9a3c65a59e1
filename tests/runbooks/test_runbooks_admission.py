"""Admission (pure, one table), the region lock, and the dispatcher that applies both."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kernel.clock import FakeClock
from kernel.locks import InMemoryRegionLock
from runbooks.admission import ActiveRun, Decision, RegionView, Request, admit
from runbooks.dispatch import AlertNotice, Dispatcher
from runbooks.journal import RunStatus
from tests.runbooks.fakes import HANG, rig
from tests.waiting import eventually

BOOKS = ("failover", "latency", "residency")
SYD_FAILOVER = ActiveRun(7, "failover", "syd", frozenset({"alert:fp1@t1"}))
A, T, H, R = Decision.ADMIT, Decision.ATTACH, Decision.HOLD, Decision.REFUSE


@pytest.mark.parametrize(("request_", "active", "region", "handled", "decision", "reason"), [
    (Request("failover", "syd", "alert:fp1@t1"), [], RegionView(), None, A,
     "no active run of failover in syd and the region is free"),
    (Request("nope", "syd"), [], RegionView(), None, R, "unknown runbook 'nope'"),
    (Request("failover", "mars"), [], RegionView(), None, R, "unknown region 'mars'"),
    (Request("failover", "syd", "alert:fp1@t1"), [SYD_FAILOVER], RegionView(), 7, T,
     "the same trigger again: run #7 of failover is active in syd"),
    (Request("failover", "syd", "verdict:region_down:syd:100"), [SYD_FAILOVER], RegionView(),
     None, T, "another trigger: run #7 of failover is active in syd"),
    (Request("failover", "syd", "alert:fp1@t1"), [], RegionView(), 3, R,
     "repeat of a notification run #3 already handled"),
    (Request("failover", "sin", "alert:fp2@t1"), [SYD_FAILOVER], RegionView(), None, A,
     "no active run of failover in sin"),
    (Request("latency", "syd"), [], RegionView("INC-4", "failover"), None, H,
     "incident INC-4 is active in syd; only its runbook failover runs there until it resolves"),
    (Request("failover", "syd"), [], RegionView("INC-4", "failover"), None, A, "no active run"),
    (Request("latency", "syd"), [], RegionView("INC-4", None), None, A, "no active run"),
    (Request("latency", "syd"), [], RegionView(lock_holder="gameday:g1"), None, H,
     "syd is locked by gameday:g1"),
    (Request("latency", "syd"), [], RegionView(lock_holder="runbook:latency"), None, A,
     "no active run"),
    (Request("latency", "syd"), [SYD_FAILOVER], RegionView(), None, H,
     "run #7 of failover is active in syd; one automation acts on a region at a time"),
    (Request("latency", "syd"), [SYD_FAILOVER], RegionView(lock_holder="runbook:failover"),
     None, H, "run #7 of failover is active in syd"),  # the run, which names itself, first
    (Request("latency", "syd"), [SYD_FAILOVER], RegionView("INC-4", "failover"), None, H,
     "incident INC-4 is active in syd"),
])
def test_admission(request_: Request, active: list[ActiveRun], region: RegionView,
                   handled: int | None, decision: Decision, reason: str) -> None:
    got = admit(request_, BOOKS, active, region, handled)
    assert got.decision is decision and got.reason.startswith(reason), got


async def test_the_region_lock_is_exclusive_refreshable_and_expires() -> None:
    clock = FakeClock()
    lock = InMemoryRegionLock(clock.time)
    assert await lock.acquire("syd", "runbook:a", 60)
    assert not await lock.acquire("syd", "gameday:g1", 60)
    assert await lock.acquire("syd", "runbook:a", 60)  # a refresh
    await lock.release("syd", "gameday:g1")  # not the holder: no-op
    assert await lock.holder("syd") == "runbook:a"
    clock.advance(60)
    assert await lock.holder("syd") is None and await lock.acquire("syd", "gameday:g1", 60)


ALERTED = """
id: latency
title: Latency
severity: P2
owner: sre
triggers:
  - alert: CoreApiLatency
    matchers: ['sloth_severity="page"']
  - verdict: latency
inputs:
  - {name: replicas, type: int, default: 3}
steps:
  - id: scale
    kind: action
    action: scale
    args: {region: "{{ inputs.region }}", service: api, replicas: "{{ inputs.replicas }}"}
"""


class Incidents:
    def __init__(self) -> None:
        self.open: dict[str, tuple[str, str | None]] = {}

    async def incident(self, region: str) -> tuple[str, str | None] | None:
        return self.open.get(region)


async def test_the_dispatcher_starts_attaches_refuses_and_holds() -> None:
    r = rig(ALERTED)
    r.scripts["scale"] = [HANG]
    incidents = Incidents()
    d = Dispatcher(r.runbooks, r.executor(), r.journal, r.lock, incidents, r.clock)
    page = AlertNotice("CoreApiLatency", {"region": "syd", "sloth_severity": "page",
                                          "replicas": "8"}, "fp1", "t1", "g1")
    [first] = await d.on_alert(page)
    assert first.admission.decision is Decision.ADMIT and first.run_id == 1
    await eventually(lambda: r.called("scale") != [], "the run to act")
    assert r.called("scale") == [{"region": "syd", "service": "api", "replicas": 8}]
    [again] = await d.on_alert(page)
    assert again.admission.decision is Decision.ATTACH and again.run_id == 1
    [verdict] = await d.on_verdict("latency", "syd", since=100.0)
    assert verdict.admission.decision is Decision.ATTACH
    assert sorted(await r.journal.trigger_keys(1)) == ["alert:fp1@t1", "verdict:latency:syd:100"]
    ticket = AlertNotice("CoreApiLatency", {"region": "syd", "sloth_severity": "ticket"}, "f",
                         "t")
    assert await d.on_alert(ticket) == []  # no runbook matches a ticket
    incidents.open["sin"] = ("INC-9", "failover")
    [held] = await d.on_verdict("latency", "sin", since=5.0)
    assert held.admission.decision is Decision.HOLD and "INC-9" in held.admission.reason
    [nowhere] = await d.on_alert(AlertNotice("CoreApiLatency", {"sloth_severity": "page"},
                                             "fp9", "t"))
    assert nowhere.admission.decision is Decision.REFUSE  # a global alert names no region
    for task in list(d.tasks):
        task.cancel()
    await asyncio.gather(*d.tasks, return_exceptions=True)


async def test_a_repeated_notification_of_a_finished_run_is_refused() -> None:
    r = rig(ALERTED)
    d = Dispatcher(r.runbooks, r.executor(), r.journal, r.lock, None, r.clock)
    page = AlertNotice("CoreApiLatency", {"region": "iad", "sloth_severity": "page"}, "fp", "t0")
    [first] = await d.on_alert(page)
    await eventually(lambda: not d.tasks, "the run to finish")
    assert (await r.journal.run(1)).status is RunStatus.SUCCEEDED
    [repeat] = await d.on_alert(page)
    assert repeat.admission.decision is Decision.REFUSE and "already handled" in (
        repeat.admission.reason)
    refire = AlertNotice("CoreApiLatency", page.labels, "fp", "t1")  # fired again later
    [second] = await d.on_alert(refire)
    assert second.admission.decision is Decision.ADMIT and second.run_id == 2


async def test_copies_of_a_notification_whose_run_ended_are_refused_without_reading() -> None:
    r = rig(ALERTED)
    d = Dispatcher(r.runbooks, r.executor(), r.journal, r.lock, None, r.clock)
    page = AlertNotice("CoreApiLatency", {"region": "iad", "sloth_severity": "page"}, "fp", "t0")
    [first] = await d.on_alert(page)
    await eventually(lambda: not d.tasks, "the run to finish")
    reads: list[str] = []
    real = r.journal.run_of_trigger

    async def counted(key: str) -> Any:
        reads.append(key)
        return await real(key)

    r.journal.run_of_trigger = counted  # type: ignore[method-assign]
    outcomes = [o for _ in range(5) for o in await d.on_alert(page)]
    assert {o.admission.decision for o in outcomes} == {Decision.REFUSE}
    assert all(o.run_id == first.run_id for o in outcomes)
    assert reads == ["alert:fp@t0"]  # the journal said it ended once; the rest are remembered
    [refire] = await d.on_alert(AlertNotice("CoreApiLatency", page.labels, "fp", "t1"))
    assert refire.admission.decision is Decision.ADMIT and reads[-1] == "alert:fp@t1"
    await eventually(lambda: not d.tasks, "the second run to finish")


async def test_a_held_trigger_does_not_read_the_lock_but_an_admitted_one_does() -> None:
    r = rig(ALERTED)
    assert r.lock is not None
    asked: list[str] = []
    real = r.lock.holder

    async def counted(region: str) -> str | None:
        asked.append(region)
        return await real(region)

    await r.lock.acquire("syd", "gameday:g1", 600)
    r.lock.holder = counted  # type: ignore[method-assign]
    d = Dispatcher(r.runbooks, r.executor(), r.journal, r.lock, Incidents(), r.clock)
    [locked] = await d.on_verdict("latency", "syd", since=1.0)
    assert locked.admission.decision is Decision.HOLD
    assert locked.admission.reason == "syd is locked by gameday:g1" and asked == ["syd"]
    incidents = Incidents()
    incidents.open["syd"] = ("INC-1", "failover")
    d = Dispatcher(r.runbooks, r.executor(), r.journal, r.lock, incidents, r.clock)
    [held] = await d.on_verdict("latency", "syd", since=2.0)
    assert held.admission.decision is Decision.HOLD and "INC-1" in held.admission.reason
    assert asked == ["syd"]  # held by the incident: the lock was not read
