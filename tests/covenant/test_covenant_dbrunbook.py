"""The automatic failover as the postgres-primary-down runbook (controlplane.dbfailover.runbook,
covenant.dbrunbook), without PostgreSQL: the real pair decision, supervisor, dispatcher,
executor, library runbook, db probes and db.failover actuator over a scripted pair backend
and an in-memory journal. Also the supervisor's region lock (db:<operation>)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from controlplane.dbfailover.errors import DbFailoverError, RegionHeld
from controlplane.dbfailover.observation import NodeProbe, PairObservation, Replica
from controlplane.dbfailover.runbook import (
    RUNBOOK,
    FailoverDb,
    Route,
    RunbookFailover,
    db_probes,
    route,
)
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.dbspec import FailoverPolicy
from controlplane.decide import ActionKind
from covenant.dbrunbook import db_hooks
from kernel.locks import InMemoryRegionLock
from runbooks.admission import Decision
from runbooks.checks import ProbeTable
from runbooks.dispatch import Dispatcher
from runbooks.executor import Executor
from runbooks.journal import InMemoryJournal, RunStatus
from runbooks.ports import CallContext, Runners
from runbooks.spec import load_library
from runbooks.templating import ArgValue, Scalar
from tests.runbooks.fakes import Escalations, statuses
from tests.waiting import eventually

POLICY = FailoverPolicy(down_after=2)


@pytest.mark.parametrize(("decision", "run_id", "way"), [
    (Decision.ADMIT, 7, Route.RUN),        # the run's promote step fails over
    (Decision.ATTACH, 7, Route.RUN),       # a run of this incident already does
    (Decision.HOLD, None, Route.RETRY),    # another automation holds the region: next pass
    (Decision.REFUSE, None, Route.DIRECT),  # dry-run only here: fail over without a run
    (Decision.REFUSE, 7, Route.RUN),       # a repeat an ended run handled: never twice
])
def test_route(decision: Decision, run_id: int | None, way: Route) -> None:
    got, why = route(decision, run_id)
    assert got is way and why


@dataclass
class Line:
    text: str

    def line(self) -> str:
        return self.text


@dataclass
class FakePair:
    """ams: a primary, b its synchronous standby; ``up`` says whether the primary answers."""

    region: str = "ams"
    up: bool = True
    generation: int = 1
    calls: list[str] = field(default_factory=list)

    async def observe(self, at: float, timeout: float) -> PairObservation:
        if self.generation > 1:  # b promoted, a fenced (or rejoined at generation 3)
            standby = "a" if self.generation == 3 else None
            nodes = {"b": NodeProbe("b", True, 0.001, "", False, 9, None, "", ())}
            if standby:
                nodes["a"] = NodeProbe("a", True, 0.001, "", True, 9, 9, "")
            return PairObservation("ams", at, self.generation, "b", standby,
                                   "ams_a" if standby else None, "", nodes)
        primary = NodeProbe("a", True, 0.001, "", False, 5, None, '"ams_b"',
                            (Replica("ams_b", "streaming", "sync", 5),)) if self.up \
            else NodeProbe("a", False, 0.001, "connection refused")
        return PairObservation("ams", at, 1, "a", "b", "ams_b", "", {
            "a": primary, "b": NodeProbe("b", True, 0.001, "", True, 5, 5, "")})

    async def failover(self, reason: str) -> Line:
        self.calls.append(f"failover: {reason}")
        self.generation = 2
        return Line("failover of ams done")

    async def switchover(self) -> Line:
        self.calls.append("switchover")
        return Line("switchover of ams done")

    async def set_synchronous(self, on: bool) -> None:
        self.calls.append(f"sync {on}")

    async def rejoin(self) -> Line:
        self.calls.append("rejoin")
        self.generation = 3
        return Line("rejoin of ams done")


class Note:
    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        return "noted"


@dataclass
class World:
    pair: FakePair
    supervisor: DbSupervisor
    lock: InMemoryRegionLock
    journal: InMemoryJournal
    executor: Executor
    dispatcher: Dispatcher
    hook: RunbookFailover
    now: float = 100.0

    async def cycle(self) -> list[str]:
        """One reconciler pass over the pairs: observe, decide, act (FAILOVER_DB through the
        hook, as the reconciler does); the kinds of the actions decided."""
        self.now += 1
        actions = self.supervisor.decide(await self.supervisor.observe(self.now), self.now,
                                         True)
        for a in actions:
            if a.kind is ActionKind.FAILOVER_DB and a.region:
                await self.hook.failover(a.region, a.reason, a.incident_id)
        return [a.kind.value for a in actions]


def world(refuse: bool = False) -> World:
    pair = FakePair()
    lock = InMemoryRegionLock()
    supervisor = DbSupervisor(POLICY, {"ams": pair}, lock)
    books = {RUNBOOK: load_library()[RUNBOOK]}

    async def healthy(args: Mapping[str, ArgValue]) -> Scalar | None:
        return "healthy"
    probes = {**db_probes(supervisor), "region.health": healthy}
    runners = Runners({"probe": ProbeTable(probes)},
                      {"db.failover": FailoverDb(supervisor), "incident.annotate": Note()})
    journal = InMemoryJournal()
    executor = Executor(books, journal, runners, Escalations(), lock=lock,
                        refuse={RUNBOOK: ["db.failover cannot act here"]} if refuse else None)
    dispatcher = Dispatcher(books, executor, journal, lock)
    hook = RunbookFailover(supervisor)
    hook.attach(dispatcher, lock)
    return World(pair, supervisor, lock, journal, executor, dispatcher, hook)


async def _kill_and_fail_over(w: World) -> str:
    """Healthy, then the primary dies: two failed probes, the incident and the failover."""
    assert await w.cycle() == []
    w.pair.up = False
    assert await w.cycle() == []
    kinds = await w.cycle()
    assert kinds == ["open_incident", "failover_db"], kinds
    incident = w.supervisor.health["ams"].incident_id
    assert incident is not None
    return incident


async def test_the_failover_runs_as_the_runbook_linked_to_the_pair_incident() -> None:
    w = world()
    incident = await _kill_and_fail_over(w)
    [run] = await w.journal.list_runs(active_only=True)
    assert run.runbook == RUNBOOK and run.incident == incident
    await eventually(lambda: w.pair.calls != [], "the run's promote step to fail over")
    await eventually(lambda: not w.dispatcher.tasks, "the run to wait for the rejoin")
    run = await w.journal.run(run.id)
    assert run.status is RunStatus.WAITING
    assert statuses(await w.journal.steps(run.id)) == {
        "primary-down": "succeeded", "standby-alive": "succeeded",
        "primary-serving": "succeeded", "promote": "succeeded", "note-promoted": "succeeded",
        "region-serves": "succeeded", "rejoin-old-primary": "waiting_approval",
        "standby-back": "pending"}
    assert w.pair.calls == ["failover: primary down (runbook postgres-primary-down)"]
    assert await w.lock.holder("ams") == f"runbook:{RUNBOOK}"  # held until the run ends
    with pytest.raises(RegionHeld, match=f"locked by runbook:{RUNBOOK}"):
        await w.supervisor.rejoin("ams")  # not on the run's behalf: refused
    # `covenant db rejoin ams` (the run's manual step names it) goes ahead under the run
    assert await w.supervisor.rejoin("ams", on_behalf_of={f"runbook:{RUNBOOK}"}) == \
        "rejoin of ams done"
    assert await w.lock.holder("ams") == f"runbook:{RUNBOOK}"  # still the run's
    await w.cycle()
    run = await w.executor.approve(run.id, "rejoin-old-primary", "ann", ["sre-database"])
    assert run.status is RunStatus.SUCCEEDED and await w.lock.holder("ams") is None


async def test_a_held_region_withdraws_the_failover_and_the_next_pass_issues_it_again(
        ) -> None:
    w = world()
    await w.lock.acquire("ams", "gameday:g1", 600)
    await _kill_and_fail_over(w)
    assert not await w.journal.list_runs() and w.pair.calls == []
    assert not w.supervisor.health["ams"].failed_over  # withdrawn
    assert await w.cycle() == ["failover_db"]  # still held: issued, held, withdrawn again
    await w.lock.release("ams", "gameday:g1")
    assert await w.cycle() == ["failover_db"]
    await eventually(lambda: w.pair.calls != [], "the run's promote step to fail over")
    assert len(await w.journal.list_runs()) == 1
    await asyncio.gather(*w.dispatcher.tasks)


async def test_a_runbook_that_cannot_run_here_falls_back_to_the_direct_failover() -> None:
    w = world(refuse=True)
    await _kill_and_fail_over(w)
    assert w.pair.calls == ["failover: ams db: primary a connection refused: promote standby "
                            "b, fence a"]
    assert not await w.journal.list_runs() and await w.lock.holder("ams") is None


async def test_no_engine_wired_fails_over_directly() -> None:
    w = world()
    w.hook.dispatcher = None
    await _kill_and_fail_over(w)
    assert len(w.pair.calls) == 1 and not await w.journal.list_runs()


async def test_the_supervisor_takes_the_region_lock_and_names_its_holder() -> None:
    w = world()
    assert await w.supervisor.switchover("ams") == "switchover of ams done"
    assert await w.lock.holder("ams") is None  # released after
    await w.lock.acquire("ams", "runbook:latency-spike", 600)
    for operation in (w.supervisor.switchover("ams"), w.supervisor.rejoin("ams"),
                      w.supervisor.failover("ams", "by hand")):
        with pytest.raises(RegionHeld, match="ams is locked by runbook:latency-spike"):
            await operation
    assert w.pair.calls == ["switchover"]


async def test_in_a_run_only_a_failover_the_decision_issued_and_under_the_run_lock() -> None:
    w = world()
    holder = f"runbook:{RUNBOOK}"
    await w.lock.acquire("ams", holder, 600)
    with pytest.raises(DbFailoverError, match="issued no failover of ams"):
        await w.supervisor.failover_in_run("ams", "r", holder)
    w.supervisor.issued["ams"] = "db-ams-1"
    with pytest.raises(RegionHeld, match=f"locked by {holder}, not by this run"):
        await w.supervisor.failover_in_run("ams", "r", "runbook:other")
    assert await w.supervisor.failover_in_run("ams", "r", holder) == "failover of ams done"
    assert await w.lock.holder("ams") == holder  # the run's hold is untouched
    with pytest.raises(DbFailoverError, match="issued no failover"):  # never twice
        await w.supervisor.failover_in_run("ams", "r", holder)


def test_a_stack_with_pairs_fails_over_through_the_runbook_hook() -> None:
    runbook_hook = object()
    supervisor = DbSupervisor(POLICY, {"ams": FakePair()})
    hooks, failover = db_hooks(runbook_hook, supervisor)  # type: ignore[arg-type]
    assert isinstance(failover, RunbookFailover) and hooks.db is failover
    assert hooks.runbook is runbook_hook
    hooks, failover = db_hooks(runbook_hook, None)  # type: ignore[arg-type]
    assert failover is None and hooks.runbook is runbook_hook
