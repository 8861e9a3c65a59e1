"""``covenant bench runbooks``: the runbook engine behind the control plane's API.

A control-plane process of its own (the real API: keys, the Alertmanager webhook, the runs
API, the executor and its periodic sweep, on a SQLite state store) is measured from this
process over HTTP:

- alert -> first step started (p50/p99): one Alertmanager notification at a time, from the
  POST leaving here to the journal's ``started_at`` of the run's first step;
- executor overhead per no-op step (in this process: a 100-step runbook of checks that
  answer at once), on the SQL journal and in memory;
- webhook throughput with duplicates: 10,000 notifications (20 copies of each of 500 distinct
  alerts, shuffled, 32 at a time); then the alerts whose every copy found their region busy
  are sent again, as Alertmanager's repeat_interval would. Runs created must equal the
  distinct alerts exactly. Each distinct alert has a (runbook, region) of its own (84
  one-step runbooks x 6 regions): two alerts of one runbook in one region would share a
  run by design (admission rule 3), which is not what is counted here;
- with 10,000 journaled runs in the store: every page of ``GET /v1/runs`` (100 a page,
  keyset), and the control plane's RSS with the executor running.

Targets: alert -> first step p99 < 200 ms, < 5 ms a step, >= 500 notifications/s,
< 50 ms a page, < 300 MB RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from runbooks.spec import parse_runbook
from runbooks.templating import ArgValue, Scalar

REGIONS = ("ams", "iad", "syd", "sin", "sfo", "jnb")
BOOKS = 84  # x 6 regions >= 500 distinct alerts, each its own (runbook, region)
NOOP = """
id: bench-noop-{k}
title: Bench - one no-op check
severity: P4
owner: bench
triggers:
  - alert: BenchAlert{k}
steps:
  - id: noop
    kind: check
    check: {{type: probe, probe: bench.noop}}
    expect: {{equals: true}}
"""
TARGETS = {"alert_to_first_step_p99_ms": 200.0, "overhead_ms_per_step": 5.0,
           "notifications_per_s": 500.0, "page_ms_max": 50.0, "control_plane_rss_mb": 300.0}


def steps_runbook(n: int) -> str:
    steps = "\n".join(f"  - id: s{i}\n    kind: check\n    check: {{type: probe, probe: "
                      "bench.noop}\n    expect: {equals: true}" for i in range(n))
    return f"id: bench-steps\ntitle: Bench - {n} no-op checks\nseverity: P4\nowner: bench\n" \
           f"steps:\n{steps}\n"


async def noop(args: Mapping[str, ArgValue]) -> Scalar | None:
    return True


def library() -> dict[str, Any]:
    books = [parse_runbook(NOOP.format(k=k), f"bench-noop-{k}.yaml") for k in range(BOOKS)]
    books.append(parse_runbook(steps_runbook(100), "bench-steps.yaml"))
    return {b.id: b for b in books}


def alert_of(i: int) -> tuple[str, str]:
    """The i-th distinct alert's name and region."""
    return f"BenchAlert{(i // len(REGIONS)) % BOOKS}", REGIONS[i % len(REGIONS)]


# -- the control-plane process -------------------------------------------------------------

async def serve(url: str, port_file: Path) -> None:
    """The control plane under test: until SIGTERM."""
    from prometheus_client import CollectorRegistry

    from controlplane.alert_webhook import webhook_route, webhook_router
    from controlplane.api import HealthPublic, create_api
    from controlplane.auth import Guard
    from controlplane.keys import KeyStore
    from controlplane.runs_api import RunbookDesk, runs_router
    from controlplane.servers import start_server
    from controlplane.store import StateStore
    from kernel.heap import settle_heap
    from kernel.state.locks import SqlRegionLock
    from runbooks.checks import ProbeTable
    from runbooks.dispatch import Dispatcher
    from runbooks.escalation import LogEscalator
    from runbooks.executor import Executor
    from runbooks.journal_sql import SqlJournal
    from runbooks.ports import Runners

    books, journal = library(), SqlJournal(url)
    lock = SqlRegionLock(url)  # what covenant up takes: the lock every process sees
    executor = Executor(books, journal, Runners(checks={"probe": ProbeTable(
        {"bench.noop": noop})}), LogEscalator(), lock=lock)
    desk = RunbookDesk(books, journal, executor, Dispatcher(books, executor, journal, lock))
    guard = Guard(KeyStore(url))
    app = create_api(StateStore(url), CollectorRegistry(), lambda: None,
                     lambda: HealthPublic(status="ok", leader=True, passes=0), guard=guard,
                     routers=[webhook_router(desk), runs_router(desk, guard)],
                     incident_runs=journal.incident_runs,
                     hot=[webhook_route(desk, guard)])  # as covenant up serves it
    server = await start_server(app, "127.0.0.1", 0)
    settle_heap()  # as covenant up does once started
    port_file.write_text(str(server.port))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():  # the executor's sweep, as covenant up runs it
        await executor.sweep()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 15)
    await server.stop()


# -- the measurements ----------------------------------------------------------------------

def notification(fingerprint: str, i: int) -> dict[str, Any]:
    """Alertmanager's webhook body for the i-th distinct alert (firing)."""
    name, region = alert_of(i)
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing",
            "receiver": "covenant", "alerts": [{
                "status": "firing", "labels": {"alertname": name, "region": region},
                "startsAt": "2026-12-07T10:00:00Z", "fingerprint": fingerprint}]}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def alert_to_first_step(client: httpx.AsyncClient, admin: dict[str, str],
                              n: int) -> dict[str, float]:
    """One notification at a time: POST -> the first step's started_at, in ms."""
    latencies: list[float] = []
    for i in range(n):
        sent = time.time()
        answer = await client.post("/v1/alerts/alertmanager",
                                   json=notification(f"lat-{i}", i))
        run_id = answer.json()["outcomes"][0]["run"]
        while True:
            run = (await client.get(f"/v1/runs/{run_id}", headers=admin)).json()
            if run["status"] == "succeeded":
                break
            await asyncio.sleep(0.005)
        latencies.append((run["steps"][0]["started_at"] - sent) * 1000)
    return {"alert_to_first_step_p50_ms": round(statistics.median(latencies), 1),
            "alert_to_first_step_p99_ms": round(pct(latencies, 0.99), 1),
            "alert_to_first_step_samples": n}


async def step_overhead(workdir: Path) -> dict[str, float]:
    """A 100-step runbook of instant checks, 5 runs each, on the SQL journal and in memory."""
    from runbooks.checks import ProbeTable
    from runbooks.escalation import LogEscalator
    from runbooks.executor import Executor
    from runbooks.journal import InMemoryJournal, Journal
    from runbooks.journal_sql import SqlJournal
    from runbooks.ports import Runners

    books = library()
    runners = Runners(checks={"probe": ProbeTable({"bench.noop": noop})})
    out: dict[str, float] = {}
    sql = SqlJournal(f"sqlite:///{workdir / 'overhead.db'}")
    journals: dict[str, Journal] = {"sql": sql, "memory": InMemoryJournal()}
    for name, journal in journals.items():
        executor = Executor(books, journal, runners, LogEscalator())
        took = []
        for _ in range(5):
            started = time.perf_counter()
            run = await executor.start("bench-steps", {"region": "ams"}, "bench")
            took.append((time.perf_counter() - started) * 1000 / 100)
            assert run.status == "succeeded", run
        out[f"overhead_ms_per_step_{name}"] = round(statistics.median(took), 3)
    sql.close()
    out["overhead_ms_per_step"] = out["overhead_ms_per_step_sql"]
    return out


def raw_post(path: str, body: object, key: str) -> bytes:
    data = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(data)}\r\n\r\n")
    return head.encode() + data


async def throughput(port: int, sender: str, distinct: int, copies: int,
                     concurrency: int) -> dict[str, Any]:
    """The notifications through ``concurrency`` keep-alive connections of bench.loadgen
    (httpx would cost more CPU than the server on two shared cores: it would measure the
    client)."""
    from bench.loadgen import Connection

    alerts = [(f"tp-{i}", i) for i in range(distinct)]
    stream = [a for a in alerts for _ in range(copies)]
    random.Random(20261207).shuffle(stream)
    decisions: dict[str, int] = {}
    admitted: set[str] = set()
    conns = [await Connection.open("127.0.0.1", port) for _ in range(concurrency)]

    async def send(conn: Connection, fingerprint: str, i: int) -> None:
        raw = raw_post("/v1/alerts/alertmanager", notification(fingerprint, i), sender)
        answer = json.loads(await conn.fetch(raw))
        decision = answer["outcomes"][0]["decision"]
        decisions[decision] = decisions.get(decision, 0) + 1
        if decision == "admit":
            admitted.add(fingerprint)

    async def sender_loop(conn: Connection) -> None:
        while stream:
            await send(conn, *stream.pop())

    total = len(stream)
    started = time.perf_counter()
    await asyncio.gather(*(sender_loop(c) for c in conns))
    took = time.perf_counter() - started
    repeats, rounds = 0, 0
    while len(admitted) < distinct and rounds < 100:  # Alertmanager's repeat_interval
        rounds += 1
        for fingerprint, i in [a for a in alerts if a[0] not in admitted]:
            repeats += 1
            await send(conns[0], fingerprint, i)
        await asyncio.sleep(0.05)
    for conn in conns:
        conn.close()
    return {"notifications": total, "distinct_alerts": distinct,
            "notifications_per_s": round(total / took, 1), "stream_s": round(took, 2),
            "decisions": decisions, "repeats_sent": repeats}


def count_runs(url: str, prefix: str) -> tuple[int, int]:
    """(runs started by alerts whose fingerprint starts with ``prefix``, distinct keys)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT count(*) FROM rb_runs WHERE trigger LIKE :p"),
                            {"p": f"alert:{prefix}%"}).scalar_one()
        keys = conn.execute(sa.text("SELECT count(DISTINCT run_id) FROM rb_trigger_keys "
                                    "WHERE key LIKE :p"), {"p": f"alert:{prefix}%"}).scalar_one()
    engine.dispose()
    return int(runs), int(keys)


def fill(url: str, total: int) -> int:
    """Ended runs (two steps each) until the store holds ``total``; returns how many."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        have = int(conn.execute(sa.text("SELECT count(*) FROM rb_runs")).scalar_one())
        first = int(conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM rb_runs")
                                 ).scalar_one()) + 1
        now, missing = time.time(), max(0, total - have)
        conn.execute(sa.text(
            "INSERT INTO rb_runs (id, runbook, region, inputs, status, actor, trigger, "
            "started_at, deadline_at, ended_at, error, escalated_at) VALUES (:id, "
            "'bench-noop-0', :region, '{}', 'succeeded', 'bench', '', :at, :at, :at, '', "
            "NULL)"),
            [{"id": first + i, "region": REGIONS[i % 6], "at": now - i} for i in range(missing)])
        conn.execute(sa.text(
            "INSERT INTO rb_steps (run_id, idx, step_id, kind, status, actor, started_at, "
            "ended_at, output, error, attempt) VALUES (:run, :idx, 'noop', 'check', "
            "'succeeded', 'covenant', :at, :at, 'held', '', 1)"),
            [{"run": first + i, "idx": 0, "at": now - i} for i in range(missing)])
    engine.dispose()
    return missing


async def paging(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """Every page of three listings. One unmeasured read first: this process bulk-inserted
    the runs behind the server's back, so its SQLite page cache starts cold, which a
    running control plane's does not."""
    out: dict[str, Any] = {}
    await client.get("/v1/runs", params={"limit": 100}, headers=admin)
    for name, params in (("all", {}), ("region", {"region": "syd"}),
                         ("state", {"state": "succeeded"})):
        took, before, listed = [], None, 0
        while True:
            query: dict[str, Any] = {"limit": 100, **params}
            if before is not None:
                query["before"] = before
            started = time.perf_counter()
            page = (await client.get("/v1/runs", params=query, headers=admin)).json()
            took.append((time.perf_counter() - started) * 1000)
            listed += len(page["runs"])
            before = page["next"]
            if before is None:
                break
        out[f"pages_{name}"] = len(took)
        out[f"runs_listed_{name}"] = listed
        out[f"page_ms_p50_{name}"] = round(statistics.median(took), 1)
        out[f"page_ms_p99_{name}"] = round(pct(took, 0.99), 1)
        out[f"page_ms_max_{name}"] = round(max(took), 1)
    out["page_ms_max"] = max(v for k, v in out.items() if k.startswith("page_ms_max_"))
    return out


async def measure(workdir: Path, latency_samples: int, distinct: int, copies: int,
                  concurrency: int, runs_in_store: int, settle_s: float = 16.0
                  ) -> dict[str, Any]:
    import psutil

    from controlplane.access import Role
    from controlplane.keys import KeyStore

    url = f"sqlite:///{workdir / 'state.db'}"
    keys = KeyStore(url)
    _, sender = keys.create("alertmanager", Role.ALERTMANAGER, [], "bench")
    _, admin_key = keys.create("bench-admin", Role.ADMIN, [], "bench")
    keys.close()
    port_file = workdir / "port"
    log = (workdir / "control-plane.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bench.runbooks", "serve", url,
                             str(port_file)], stdout=log, stderr=log,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the control plane did not start; see {log.name}")
            await asyncio.sleep(0.05)
        base = f"http://127.0.0.1:{port_file.read_text()}"
        admin = {"Authorization": f"Bearer {admin_key}"}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits, headers={
                "Authorization": f"Bearer {sender}"}) as client:
            figures: dict[str, Any] = {}
            figures |= await alert_to_first_step(client, admin, latency_samples)
            figures |= await step_overhead(workdir)
            figures |= await throughput(int(port_file.read_text()), sender, distinct, copies,
                                        concurrency)
            runs, keyed = count_runs(url, "tp-")
            figures |= {"runs_created": runs, "runs_with_their_alert": keyed,
                        "runs_equal_distinct_alerts": runs == keyed == distinct}
            figures["runs_inserted"] = fill(url, runs_in_store)
            figures |= await paging(client, admin)
            await asyncio.sleep(settle_s)  # a sweep over all the runs runs meanwhile
            figures["control_plane_rss_mb"] = round(
                psutil.Process(proc.pid).memory_info().rss / 2**20, 1)
        return figures
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def verdict(figures: Mapping[str, Any]) -> dict[str, bool]:
    return {"alert_to_first_step": figures["alert_to_first_step_p99_ms"]
            < TARGETS["alert_to_first_step_p99_ms"],
            "overhead": figures["overhead_ms_per_step"] < TARGETS["overhead_ms_per_step"],
            "throughput": figures["notifications_per_s"] >= TARGETS["notifications_per_s"],
            "dedup_exact": bool(figures["runs_equal_distinct_alerts"]),
            "paging": figures["page_ms_max"] < TARGETS["page_ms_max"],
            "rss": figures["control_plane_rss_mb"] < TARGETS["control_plane_rss_mb"]}


def run_cli(as_json: bool, latency_samples: int = 200, distinct: int = 500, copies: int = 20,
            concurrency: int = 32, runs_in_store: int = 10_000,
            data_dir: Path | None = None, settle_s: float = 16.0) -> dict[str, Any]:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    with tempfile.TemporaryDirectory(prefix="covenant-bench-runbooks-") as tmp:
        workdir = data_dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(measure(workdir, latency_samples, distinct, copies, concurrency,
                                      runs_in_store, settle_s))
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    figures["cpus"] = os.cpu_count()
    figures["targets_met"] = verdict(figures)
    if not as_json:
        for key, value in figures.items():
            print(f"{key:34} {value}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        from chaos.runner import run  # uvloop, as `covenant up` runs the control plane

        run(serve(sys.argv[2], Path(sys.argv[3])))
    else:
        sys.exit("usage: python -m bench.runbooks serve STATE_URL PORT_FILE")
