"""Isolation, not only death: the primary is cut off (its link blocked through the fault
proxy) while a client that can still reach it directly keeps writing. The control plane
fails over with the stop fence off (as if the old primary's host were unreachable): once
the standby is promoted it no longer streams from the old primary, whose every commit then
waits for a synchronous standby that is gone, so nothing it acknowledges is lost. Also: a
lost standby makes writes wait at most sync_grace_s, then the primary goes asynchronous."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from chaos.server import ToxiproxyServer
from controlplane.dbfailover.backends import build_supervisor
from controlplane.dbfailover.endpoint import ensure_endpoint, link_name
from controlplane.dbfailover.loop import run_pairs
from controlplane.dbfailover.pairstate import PairState, load_state, save_state
from controlplane.dbfailover.postgres import conninfo, sql
from controlplane.dbspec import DbPolicy, FailoverPolicy, PairSpec
from tests.integration.dbfailover.pairs import kill_postmaster
from tests.waiting import eventually


@dataclass
class DirectWriter:
    """A client in the old primary's partition: autocommit inserts on its own port."""

    port: int
    acked: list[tuple[float, int]] = field(default_factory=list)
    waiting_since: float | None = None
    refused: list[float] = field(default_factory=list)  # when each attempt timed out or failed

    async def run(self, stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                        conninfo(self.port, "covenant"), autocommit=True) as conn:
                    while not stop.is_set():
                        i += 1
                        self.waiting_since = time.monotonic()
                        await asyncio.wait_for(
                            conn.execute("INSERT INTO t VALUES (%s)", [i]), 1.0)
                        self.acked.append((time.monotonic(), i))
                        self.waiting_since = None
            except (TimeoutError, psycopg.Error):
                self.refused.append(time.monotonic())
                await asyncio.sleep(0.05)


async def _setup(directory: Path, state: PairState, toxiproxy: ToxiproxyServer,
                 policy: FailoverPolicy) -> tuple[PairState, DbPolicy]:
    info = await ensure_endpoint(toxiproxy.url, state, 0, (0, 0))
    state = state.model_copy(update={"endpoint": info})
    save_state(directory, state)
    await sql(state.nodes["a"], "CREATE TABLE t (id int PRIMARY KEY)", dbname="covenant")
    spec = PairSpec(dir=str(directory), primary_port=state.nodes["a"],
                    standby_port=state.nodes["b"], endpoint_port=0, link_ports=(0, 0))
    return state, DbPolicy(pairs={"ams": spec}, policy=policy)


async def test_cut_off_primary_acknowledges_nothing_after_it_is_replaced(
        pair: tuple[Path, PairState], toxiproxy: ToxiproxyServer, pair_root: Path) -> None:
    directory, state = pair
    state, db = await _setup(directory, state, toxiproxy,
                             FailoverPolicy(down_after=2, fence_stop=False))
    stop, writer_stop = asyncio.Event(), asyncio.Event()
    loop = asyncio.create_task(run_pairs(build_supervisor(db, pair_root), stop))
    rogue = DirectWriter(state.nodes["a"])
    writing = asyncio.create_task(rogue.run(writer_stop))
    try:
        await eventually(lambda: len(rogue.acked) >= 50, "50 direct writes on a", 30)
        cut_at = time.monotonic()
        await toxiproxy.update_proxy(link_name("ams", "a"), enabled=False)
        promoted_at = await eventually(lambda: load_state(directory).primary == "b",
                                       "the control plane to promote b", 30, 0.01)
        await eventually(lambda: rogue.waiting_since is not None and
                         time.monotonic() - rogue.waiting_since > 0.5,
                         "the old primary to stop acknowledging", 10)
        # Two more whole attempts on the replaced primary, each refused (1 s timeout each).
        await eventually(lambda: sum(at > promoted_at for at in rogue.refused) >= 2,
                         "two refused attempts after the promotion", 15)
    finally:
        writer_stop.set()
        stop.set()
        await asyncio.gather(writing, loop)
    last_ack = max(at for at, _ in rogue.acked)
    print(f"cut off -> promoted {promoted_at - cut_at:.2f} s; old primary's last "
          f"acknowledged write {last_ack - cut_at:.2f} s after the cut, "
          f"{last_ack - promoted_at:+.3f} s from the promotion being recorded")
    assert last_ack <= promoted_at  # nothing acknowledged by a primary already replaced
    on_b = {r[0] for r in await sql(state.nodes["b"], "SELECT id FROM t", dbname="covenant")}
    assert {i for _, i in rogue.acked} <= on_b
    # the old primary is still up (no stop fence) but cannot commit: no standby to wait for
    rows = await sql(state.nodes["a"], "SELECT count(*) FROM pg_stat_replication")
    assert rows == [(0,)]


async def test_lost_standby_pauses_writes_for_the_grace_then_async_then_sync_again(
        pair: tuple[Path, PairState], toxiproxy: ToxiproxyServer, pair_root: Path) -> None:
    directory, state = pair
    state, db = await _setup(directory, state, toxiproxy,
                             FailoverPolicy(down_after=2, sync_grace_s=2.0))
    supervisor = build_supervisor(db, pair_root)
    stop, writer_stop = asyncio.Event(), asyncio.Event()
    loop = asyncio.create_task(run_pairs(supervisor, stop))
    writer = DirectWriter(state.nodes["a"])
    writing = asyncio.create_task(writer.run(writer_stop))
    try:
        await eventually(lambda: len(writer.acked) >= 20, "20 writes", 30)
        kill_postmaster(directory, "b")
        killed_at = time.monotonic()
        await eventually(lambda: writer.acked[-1][0] > killed_at + 1.5,
                         "writes to continue, asynchronously", 30)
        gap = max(b[0] - a[0] for a, b in zip(writer.acked, writer.acked[1:], strict=False)
                  if b[0] > killed_at)
        print(f"standby killed: writes waited {gap:.2f} s (grace 2 s)")
        assert gap < 2.0 + 2.5  # the grace, plus detection at a 1 s cadence
        rows = await sql(state.nodes["a"], "SHOW synchronous_standby_names")
        assert rows == [("",)]
        assert supervisor.health["ams"].incident_id is not None
        # the standby comes back: synchronous again, incident resolved
        standby = load_state(directory)
        from controlplane.dbfailover.pairstate import node
        await node(directory, standby, "b").start()
        await eventually(lambda: supervisor.health["ams"].incident_id is None,
                         "the standby to be synchronous again and the incident resolved", 30)
    finally:
        writer_stop.set()
        stop.set()
        await asyncio.gather(writing, loop)
    rows = await sql(state.nodes["a"], "SELECT sync_state FROM pg_stat_replication")
    assert rows == [("sync",)]
