"""``covenant bench db-failover``: the primary of a synchronous pair killed (kill -9) under a
steady write load, per trial: RTO (the last acknowledged write before the kill to the
first acknowledged write after it), detection time, writes acknowledged, writes lost (an
acknowledged id missing from the new primary). Side by side, in the same run and with the
same writer, for:

- ``native``: Covenant's pair (the fault-proxy endpoint, pg_promote, fencing), the pairs'
  loop at the reconciler's cadence (1 s, 0.25 s after a failed probe), the failover carried
  out as in ``covenant up``: as the postgres-primary-down runbook (dispatcher, executor,
  journal on a SQLite state store, region lock; its promote step fails over); between
  trials the old primary rejoins with pg_rewind and the run's manual rejoin step is
  confirmed, so the run ends and frees the region;
- ``native-direct``: the same with the supervisor failing over directly (no runbook: the
  path of a control plane without the runbook engine), to show what the run costs;
- ``patroni-default``: Patroni 4 with etcd, synchronous_mode, ttl 30 / loop_wait 10;
- ``patroni-tuned``: the same with ttl 10 / loop_wait 2 / retry_timeout 4; between trials
  the killed member (Patroni and its postmaster, killed -9 together: the node died) is
  started again and rejoins by itself (use_pg_rewind).

The writer is one connection inserting ids in order (libpq's multi-host with
target_session_attrs=read-write for Patroni; the region's endpoint for Covenant).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.patroni_cluster import PatroniCluster, free_port
from chaos.server import ToxiproxyServer
from controlplane.dbfailover.backends import build_supervisor
from controlplane.dbfailover.chaos_kill import kill_server
from controlplane.dbfailover.decide import Condition
from controlplane.dbfailover.endpoint import ensure_endpoint
from controlplane.dbfailover.loop import run_pairs
from controlplane.dbfailover.native import NativePair
from controlplane.dbfailover.pair import init_pair
from controlplane.dbfailover.pairstate import load_state, node, save_state
from controlplane.dbfailover.postgres import conninfo, give_to_server_user, sql
from controlplane.dbfailover.runbook import (
    RUNBOOK,
    FailoverDb,
    RunbookFailover,
    db_probes,
    node_role,
)
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.dbspec import DbPolicy, FailoverPolicy, PairSpec
from kernel.locks import InMemoryRegionLock
from runbooks.checks import ProbeFn, ProbeTable
from runbooks.dispatch import Dispatcher
from runbooks.executor import Executor
from runbooks.journal import RunStatus
from runbooks.journal_sql import SqlJournal
from runbooks.ports import CallContext, Escalation, Runners
from runbooks.spec import load_library
from runbooks.templating import ArgValue, Scalar

log = logging.getLogger(__name__)

WARM_WRITES = 100          # acknowledged writes before each kill
AFTER_WRITES = 20          # ... and after the failover, before the trial ends
TRIAL_TIMEOUT_S = 180.0
SYSTEMS = ("native", "native-direct", "patroni-default", "patroni-tuned")
PATRONI = {"patroni-default": (30, 10, 10), "patroni-tuned": (10, 2, 4)}


@dataclass
class Writer:
    """Inserts ids in order over one connection; reconnects after any failure."""

    dsn: str
    next_id: int = 1
    acked: list[tuple[float, int]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn = await asyncio.wait_for(
                    psycopg.AsyncConnection.connect(self.dsn, autocommit=True), 1.0)
                async with conn:
                    while not self.stop.is_set():
                        i = self.next_id
                        self.next_id += 1
                        await asyncio.wait_for(conn.execute(
                            "INSERT INTO bench_writes (id) VALUES (%s)", [i]), 2.0)
                        self.acked.append((time.monotonic(), i))
            except (TimeoutError, psycopg.Error, OSError):
                await asyncio.sleep(0.02)

    async def wait_acked(self, count: int, since: float, what: str) -> None:
        deadline = time.monotonic() + TRIAL_TIMEOUT_S
        while sum(1 for t, _ in self.acked if t > since) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: fewer than {count} writes in "
                                   f"{TRIAL_TIMEOUT_S:g} s")
            await asyncio.sleep(0.02)


@dataclass
class Trial:
    system: str
    rto_s: float
    detection_s: float | None
    acked: int
    lost: int


def _rto(acked: list[tuple[float, int]], killed: float) -> float:
    """The longest stretch without an acknowledged write, from the last one before the kill
    on. (Not merely "first after minus last before": an insert answered just before the
    kill may be recorded just after it, the writer and the kill sharing one event loop.)"""
    times = [t for t, _ in acked]
    start = max((i for i, t in enumerate(times) if t <= killed), default=0)
    return max(b - a for a, b in zip(times[start:], times[start + 1:], strict=False))


async def _lost(port: int, ids: list[int]) -> int:
    rows = await sql(port, "SELECT id FROM bench_writes WHERE id = ANY(%s)", [ids],
                     timeout=30, dbname="postgres")
    return len(set(ids) - {r[0] for r in rows})


async def _trial(system: str, writer: Writer, kill: Callable[[], float],
                 detected: Callable[[], Awaitable[float | None]],
                 new_primary_port: Callable[[], Awaitable[int]]) -> Trial:
    start = time.monotonic()
    await writer.wait_acked(WARM_WRITES, start, f"{system} before the kill")
    killed = kill()
    await writer.wait_acked(AFTER_WRITES, killed, f"{system} after the kill")
    detection = await detected()
    first = len([1 for t, _ in writer.acked if t <= start])
    ids = [i for t, i in writer.acked[first:]]
    lost = await _lost(await new_primary_port(), ids)
    trial = Trial(system, _rto(writer.acked, killed), detection, len(ids), lost)
    print(f"{system:>16} trial: RTO {trial.rto_s:6.2f} s, detection "
          f"{_fmt(trial.detection_s)}, {trial.acked} acknowledged, {trial.lost} lost",
          flush=True)
    return trial


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:5.2f} s"


# Covenant native ---------------------------------------------------------------------------
class _Timed(DbSupervisor):
    """The supervisor, noting when each failover began (detection time)."""

    failover_started: float | None = None

    async def failover(self, region: str, reason: str, incident_id: str | None = None) -> None:
        self.failover_started = time.monotonic()
        await super().failover(region, reason, incident_id)


class _TimedRunbook(RunbookFailover):
    """The runbook hook, noting when each failover was handed to it (detection time)."""

    failover_started: float | None = None

    async def failover(self, region: str, reason: str, incident_id: str | None = None) -> None:
        self.failover_started = time.monotonic()
        await super().failover(region, reason, incident_id)


class _LogEscalator:
    async def escalate(self, escalation: Escalation) -> None:
        log.warning("run #%s escalated: %s", escalation.run_id, escalation.reason)


class _Note:
    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        return "noted (the benchmark has no incident desk)"


@dataclass
class _Engine:
    """The runbook engine of the runbook path: what ``covenant up`` builds around the run."""

    hook: _TimedRunbook
    executor: Executor
    journal: SqlJournal


def _engine(supervisor: DbSupervisor, root: Path) -> _Engine:
    books = {RUNBOOK: load_library()[RUNBOOK]}
    journal = SqlJournal(f"sqlite:///{root / 'state.db'}")
    lock = InMemoryRegionLock()

    async def serving(args: Mapping[str, ArgValue]) -> Scalar | None:
        # No region API here: the region "serves" once its pair has a primary again.
        obs = supervisor.observations.get(str(args.get("region")))
        return "healthy" if obs is not None and node_role(obs, "primary") == "primary" \
            else "degraded"
    probes: dict[str, ProbeFn] = {**db_probes(supervisor), "region.health": serving}
    runners = Runners({"probe": ProbeTable(probes)},
                      {"db.failover": FailoverDb(supervisor), "incident.annotate": _Note()})
    executor = Executor(books, journal, runners, _LogEscalator(), lock=lock)
    hook = _TimedRunbook(supervisor)
    hook.attach(Dispatcher(books, executor, journal, lock), lock)
    return _Engine(hook, executor, journal)


async def run_native(root: Path, trials: int, path: str = "runbook") -> list[Trial]:
    directory = root / f"native-{path}" / "ams"
    directory.parent.mkdir(parents=True)
    directory.parent.chmod(0o755)
    state = await init_pair("ams", directory, free_port(), free_port())
    toxiproxy = ToxiproxyServer("127.0.0.1", 0)
    await toxiproxy.start()
    stop = asyncio.Event()
    loop: asyncio.Task[None] | None = None
    writer_task: asyncio.Task[None] | None = None
    engine: _Engine | None = None
    try:
        info = await ensure_endpoint(toxiproxy.url, state, 0, (0, 0))
        save_state(directory, state.model_copy(update={"endpoint": info}))
        await sql(state.nodes["a"], "CREATE TABLE bench_writes (id bigint PRIMARY KEY)")
        spec = PairSpec(dir=str(directory), primary_port=state.nodes["a"],
                        standby_port=state.nodes["b"], endpoint_port=0, link_ports=(0, 0))
        db = DbPolicy(pairs={"ams": spec}, policy=FailoverPolicy())
        supervisor = _Timed(db.policy, build_supervisor(db, root).pairs)
        engine = _engine(supervisor, directory.parent) if path == "runbook" else None
        loop = asyncio.create_task(run_pairs(supervisor, stop,
                                             db=engine.hook if engine else None))
        writer = Writer(conninfo(info.port, "postgres", "bench"))
        writer_task = asyncio.create_task(writer.run())
        timed: _Timed | _TimedRunbook = engine.hook if engine else supervisor
        out = []
        for _ in range(trials):
            out.append(await _native_trial(directory, supervisor, writer, timed, engine))
        return out
    finally:
        stop.set()
        if writer_task is not None:
            writer.stop.set()
            await writer_task
        if loop is not None:
            await loop
        if engine is not None:
            engine.journal.close()
        await toxiproxy.stop()
        current = load_state(directory)
        for name in current.nodes:
            await node(directory, current, name).stop("immediate", timeout=10)


async def _native_trial(directory: Path, supervisor: DbSupervisor, writer: Writer,
                        timed: _Timed | _TimedRunbook, engine: _Engine | None) -> Trial:
    state = load_state(directory)
    victim = node(directory, state, state.primary)
    timed.failover_started = None
    killed_at: list[float] = []

    def kill() -> float:  # stamped once every process is dead: what came before counts
        kill_server(victim.datadir)  # the node dies: postmaster and backends at once
        killed_at.append(time.monotonic())
        return killed_at[0]

    async def detected() -> float | None:
        started = timed.failover_started
        return None if started is None else started - killed_at[0]

    async def new_primary() -> int:
        return load_state(directory).nodes[load_state(directory).primary]

    name = "native" if engine is not None else "native-direct"
    trial = await _trial(name, writer, kill, detected, new_primary)
    run_id = await _waiting_run(engine) if engine is not None else None
    await NativePair("ams", directory).rejoin()
    if engine is not None and run_id is not None:  # the person confirms the rejoin step
        await engine.executor.approve(run_id, "rejoin-old-primary", "bench", ["sre-database"])
    deadline = time.monotonic() + 60
    while supervisor.health.get("ams") is None or \
            supervisor.health["ams"].condition is not Condition.HEALTHY:
        if time.monotonic() > deadline:
            raise TimeoutError("native pair not synchronous again 60 s after the rejoin")
        await asyncio.sleep(0.05)
    return trial


async def _waiting_run(engine: _Engine) -> int:
    """The trial's postgres-primary-down run, once it waits for the rejoin (promoted)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for run in await engine.journal.list_runs(active_only=True, limit=10):
            if run.status is RunStatus.WAITING:
                return run.id
        await asyncio.sleep(0.05)
    runs = await engine.journal.list_runs(limit=1)
    raise TimeoutError(f"no {RUNBOOK} run waiting for the rejoin 60 s after the kill "
                       f"(last: {runs[0] if runs else 'none'})")


# Patroni -----------------------------------------------------------------------------------
async def run_patroni(root: Path, system: str, trials: int) -> list[Trial]:
    ttl, loop_wait, retry = PATRONI[system]
    cluster = PatroniCluster(root / system, ttl, loop_wait, retry)
    (root / system).mkdir(parents=True)
    give_to_server_user(root / system)
    writer: Writer | None = None
    task: asyncio.Task[None] | None = None
    try:
        await cluster.start()
        leader = await cluster.wait_leader(60)
        await sql(cluster.port_of(leader), "CREATE TABLE bench_writes (id bigint PRIMARY KEY)")
        writer = Writer(cluster.dsn())
        task = asyncio.create_task(writer.run())
        return [await _patroni_trial(system, cluster, writer) for _ in range(trials)]
    finally:
        if writer is not None and task is not None:
            writer.stop.set()
            await task
        await cluster.stop()


async def _patroni_trial(system: str, cluster: PatroniCluster, writer: Writer) -> Trial:
    victim = await cluster.wait_leader(60)
    killed_at: list[float] = []

    def kill() -> float:
        cluster.kill(victim)
        killed_at.append(time.monotonic())
        return killed_at[0]

    async def detected() -> float | None:
        await cluster.wait_leader(TRIAL_TIMEOUT_S, other_than=victim)
        return None  # Patroni has no separate detection: its leader key expires (ttl)

    async def new_primary() -> int:
        return cluster.port_of(await cluster.wait_leader(60, other_than=victim))

    trial = await _trial(system, writer, kill, detected, new_primary)
    cluster.launch(victim)  # the node comes back and rejoins (pg_rewind)
    await cluster.wait_healthy(300)
    return trial


# The run -----------------------------------------------------------------------------------
def summary(trials: list[Trial]) -> dict[str, Any]:
    rtos = [t.rto_s for t in trials]
    detections = [t.detection_s for t in trials if t.detection_s is not None]
    return {"trials": len(trials), "rto_s_median": round(statistics.median(rtos), 3),
            "rto_s_max": round(max(rtos), 3), "rto_s_min": round(min(rtos), 3),
            "detection_s_median": round(statistics.median(detections), 3) if detections
            else None,
            "writes_acked": sum(t.acked for t in trials),
            "lost_writes": sum(t.lost for t in trials),
            "rto_s": [round(r, 3) for r in rtos]}


async def run_bench(trials: int, systems: tuple[str, ...], data_dir: Path | None
                    ) -> dict[str, Any]:
    logging.getLogger("controlplane").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="covenant-dbbench-", dir=str(data_dir) if data_dir
                                 else "/tmp"))
    root.chmod(0o755)  # the postgres user must reach the pairs' directories
    load_before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    for system in systems:
        print(f"--- {system}: {trials} trial(s)", flush=True)
        if system in ("native", "native-direct"):
            ran = await run_native(root, trials, "runbook" if system == "native" else "direct")
        else:
            ran = await run_patroni(root, system, trials)
        results[system] = summary(ran)
    native = results.get("native", {})
    tuned = results.get("patroni-tuned", {})
    figures: dict[str, Any] = {
        "trials": trials, "rto_s_median": native.get("rto_s_median"),
        "rto_s_max": native.get("rto_s_max"), "lost_writes": native.get("lost_writes"),
        **{name.replace("-", "_"): figures for name, figures in results.items()},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }
    if native and tuned:
        figures["speedup_vs_patroni_tuned"] = round(
            tuned["rto_s_median"] / native["rto_s_median"], 1)
    figures["targets"] = {"rto_s_median": 5.0, "stretch_rto_s_median": 2.0, "lost_writes": 0,
                          "trials": 20, "speedup_vs_patroni_tuned": 4.0}
    return figures


def run_cli(trials: int, as_json: bool, systems: str, data_dir: Path | None) -> None:
    chosen = tuple(s.strip() for s in systems.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown:
        raise SystemExit(f"--systems: {', '.join(unknown)} unknown; choose from "
                         f"{', '.join(SYSTEMS)}")
    figures = asyncio.run(run_bench(trials, chosen, data_dir))
    if not as_json:
        for name in chosen:
            f = figures[name.replace("-", "_")]
            print(f"{name:>16}: RTO median {f['rto_s_median']:.2f} s, max "
                  f"{f['rto_s_max']:.2f} s; {f['writes_acked']} acknowledged, "
                  f"{f['lost_writes']} lost")
        if "speedup_vs_patroni_tuned" in figures:
            print(f"native vs tuned Patroni: {figures['speedup_vs_patroni_tuned']}x faster")
    print(json.dumps(figures, separators=(",", ":")))
