"""The ``native`` backend: two local PostgreSQL nodes, ``pg_promote()``, the fault-proxy
endpoint, and fencing by blocking the old primary's link and stopping it.

Failover, in this order (each step timed in the report):
1. fence the old primary: block its link (nothing reaches it through the network), stop it
   (``pg_ctl stop -m immediate``) and leave ``standby.signal`` in its directory, so that
   whoever restarts it gets a read-only standby;
2. promote the standby: no synchronous standby to wait for (it has none yet), no upstream,
   ``pg_promote(wait => true)``, then check it takes writes;
3. re-point the endpoint at the new primary's link (live connections through the endpoint
   are dropped; the region API's pool reconnects on its next checkout);
4. record the new roles (generation + 1; the old primary is fenced until ``rejoin``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from controlplane.dbfailover.endpoint import ToxiproxyEndpoint
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import PairObservation
from controlplane.dbfailover.pair import set_sync_names, wait_synchronous
from controlplane.dbfailover.pairstate import (
    PairState,
    busy,
    holding,
    load_state,
    node,
    save_state,
)
from controlplane.dbfailover.postgres import PgNode, bin_path, run, sql
from controlplane.dbfailover.probe import probe_node

log = logging.getLogger(__name__)

REWIND_WAIT_S = 15.0     # orphaned backends of a killed postmaster exit within this
SWITCH_LAG_BYTES = 16 * 1024 * 1024


@dataclass
class Report:
    """What an operation did, step by step, with the time each step took."""

    operation: str
    region: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    pause_s: float | None = None   # switchover: writes impossible for this long
    _last: float = field(default_factory=time.perf_counter)

    def step(self, what: str) -> None:
        now = time.perf_counter()
        self.steps.append((what, now - self._last))
        self._last = now
        log.debug("%s %s: %s (%.3f s)", self.operation, self.region, what, self.steps[-1][1])

    def line(self) -> str:
        total = sum(s for _, s in self.steps)
        pause = f", write pause {self.pause_s:.3f} s" if self.pause_s is not None else ""
        return (f"{self.operation} of {self.region} done in {total:.3f} s{pause}: "
                + "; ".join(f"{w} {s * 1000:.0f} ms" for w, s in self.steps))


class NativePair:
    """One region's local pair, addressed by its directory (state in ``pair.json``)."""

    def __init__(self, region: str, directory: Path, fence_stop: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.region = region
        self.directory = directory
        self.fence_stop = fence_stop
        self._clock = clock
        # One transport for the Toxiproxy calls: a new client's TLS setup alone costs
        # 20-200 ms, which a failover would otherwise pay twice.
        self._transport: httpx.AsyncBaseTransport | None = None

    def state(self) -> PairState:
        return load_state(self.directory)

    def _endpoint(self, state: PairState) -> ToxiproxyEndpoint | None:
        if state.endpoint is None:
            return None
        if self._transport is None:
            self._transport = httpx.AsyncHTTPTransport()
        return ToxiproxyEndpoint(state.endpoint, self._transport)

    def _node(self, state: PairState, name: str) -> PgNode:
        return node(self.directory, state, name)

    # Observe -------------------------------------------------------------------------------
    async def observe(self, at: float, timeout: float) -> PairObservation:
        """Probe the primary and the standby (through their links when the pair has an
        endpoint: what the network lets through is what counts) at once."""
        state = self.state()
        holder = busy(self.directory)
        ports = dict(state.endpoint.link_ports) if state.endpoint else dict(state.nodes)
        names = [n for n in (state.primary, state.standby) if n is not None]
        probes = await asyncio.gather(*(probe_node(n, ports[n], timeout) for n in names))
        standby = self._node(state, state.standby) if state.standby else None
        return PairObservation(self.region, at, state.generation, state.primary, state.standby,
                               standby.app_name if standby else None, holder,
                               {p.node: p for p in probes})

    # Failover ------------------------------------------------------------------------------
    async def failover(self, reason: str) -> Report:
        with holding(self.directory, "failover"):
            state = self.state()
            if state.standby is None:
                raise DbFailoverError(f"pair {self.region} has no standby to promote; "
                                      f"run `covenant db rejoin {self.region}` first")
            old, new = self._node(state, state.primary), self._node(state, state.standby)
            report = Report("failover", self.region)
            await self.fence(state, old, report)
            await promote(new)
            report.step(f"promoted {new.name}")
            endpoint = self._endpoint(state)
            if endpoint is not None:
                await endpoint.point_at(new.name)
                report.step(f"endpoint -> {new.name}")
            save_state(self.directory, state.with_roles(
                new.name, None, (old.name,), f"failover to {new.name}, {old.name} fenced: "
                f"{reason}"))
            report.step("roles recorded")
            return report

    async def fence(self, state: PairState, old: PgNode, report: Report) -> None:
        """Block the old primary's link, then (``fence_stop``) stop it and leave
        standby.signal. A stop that fails is logged: the blocked link and the synchronous
        standby it no longer has keep it from acknowledging writes."""
        endpoint = self._endpoint(state)
        if endpoint is not None:
            await endpoint.block(old.name)
            report.step(f"blocked {old.name}'s link")
        if not self.fence_stop:
            return
        try:
            stopped = await old.stop("immediate", timeout=10)
            report.step(f"stopped {old.name}" if stopped else f"{old.name} already stopped")
        except DbFailoverError as exc:
            log.warning("fence of %s: stop failed (%s); its link is blocked", old.name, exc)
            report.step(f"stop of {old.name} failed")
        old.write_fence()

    # Synchronous mode ----------------------------------------------------------------------
    async def set_synchronous(self, on: bool) -> None:
        with holding(self.directory, "sync on" if on else "sync off"):
            state = self.state()
            primary = self._node(state, state.primary)
            standby = self._node(state, state.standby) if on and state.standby else None
            if on and standby is None:
                raise DbFailoverError(f"pair {self.region} has no standby to wait for; run "
                                      f"`covenant db rejoin {self.region}`")
            await set_sync_names(primary, standby)

    # Rejoin --------------------------------------------------------------------------------
    async def rejoin(self) -> Report:
        """The fenced old primary becomes the new standby: CHECKPOINT on the primary,
        pg_rewind from it, standby configuration, start, synchronous again."""
        with holding(self.directory, "rejoin"):
            state = self.state()
            if not state.fenced:
                raise DbFailoverError(f"pair {self.region} has nothing to rejoin (primary "
                                      f"{state.primary}, standby {state.standby})")
            primary, old = self._node(state, state.primary), self._node(state, state.fenced[0])
            report = Report("rejoin", self.region)
            await _require_primary(primary)
            await old.stop("fast")
            report.step(f"{old.name} stopped")
            await self._follow(state, primary, old, report)
            save_state(self.directory, state.with_roles(
                primary.name, old.name, (), f"{old.name} rejoined as standby of "
                f"{primary.name}"))
            report.step("roles recorded")
            return report

    async def _follow(self, state: PairState, primary: PgNode, old: PgNode,
                      report: Report) -> None:
        """Make ``old`` a synchronous standby of ``primary`` (it must be stopped)."""
        await sql(primary.port, "CHECKPOINT")
        await sql(primary.port, "SELECT pg_create_physical_replication_slot(%s) WHERE NOT "
                  "EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
                  [old.app_name, old.app_name])
        report.step(f"checkpoint and slot on {primary.name}")
        await rewind(old, primary)
        report.step(f"pg_rewind {old.name} from {primary.name}")
        old.write_standby_config(primary)
        await old.start()
        endpoint = self._endpoint(state)
        if endpoint is not None:
            await endpoint.unblock(old.name)
        report.step(f"{old.name} started as standby")
        await set_sync_names(primary, old)
        await wait_synchronous(primary, old)
        report.step(f"{old.name} synchronous")

    # Switchover ----------------------------------------------------------------------------
    async def switchover(self) -> Report:
        """Planned: the standby becomes primary with no acknowledged write lost and a short
        write pause (from the old primary's shutdown to the endpoint moving)."""
        with holding(self.directory, "switchover"):
            state = self.state()
            if state.standby is None:
                raise DbFailoverError(f"pair {self.region} has no standby; run `covenant db "
                                      f"rejoin {self.region}` first")
            old, new = self._node(state, state.primary), self._node(state, state.standby)
            await _require_synchronous(old, new)
            report = Report("switchover", self.region)
            await sql(old.port, "CHECKPOINT")  # so the shutdown checkpoint has little to do
            report.step(f"checkpoint on {old.name}")
            paused = time.perf_counter()
            await old.stop("fast")  # its walsender ships every record to the standby first
            report.step(f"{old.name} shut down")
            await _wait_received(old, new)
            await promote(new)
            report.step(f"promoted {new.name}")
            endpoint = self._endpoint(state)
            if endpoint is not None:
                await endpoint.point_at(new.name)
                report.step(f"endpoint -> {new.name}")
            report.pause_s = time.perf_counter() - paused
            save_state(self.directory, state.with_roles(
                new.name, None, (old.name,), f"switchover to {new.name}"))
            state = self.state()
            await self._follow(state, new, old, report)
            save_state(self.directory, state.with_roles(
                new.name, old.name, (), f"{old.name} follows {new.name}"))
            return report


async def promote(new: PgNode) -> None:
    """No synchronous standby to wait for and no upstream, then ``pg_promote``; check it
    takes writes."""
    await sql(new.port, "ALTER SYSTEM SET synchronous_standby_names = ''")
    await sql(new.port, "ALTER SYSTEM RESET primary_conninfo")
    await sql(new.port, "ALTER SYSTEM RESET primary_slot_name")
    await sql(new.port, "SELECT pg_reload_conf()")
    rows = await sql(new.port, "SELECT pg_promote(true, 30)", timeout=35)
    if not rows or rows[0][0] is not True:
        raise DbFailoverError(f"pg_promote on node {new.name} (port {new.port}) did not "
                              "finish in 30 s; see its log")
    recovering = await sql(new.port, "SELECT pg_is_in_recovery()")
    if recovering[0][0]:
        raise DbFailoverError(f"node {new.name} is still in recovery after pg_promote")


async def rewind(old: PgNode, source: PgNode) -> None:
    """pg_rewind ``old`` from ``source``; retried while a killed postmaster's orphaned
    backends still hold the old data directory."""
    (old.datadir / "standby.signal").unlink(missing_ok=True)  # single-user recovery refuses it
    argv = [bin_path("pg_rewind"), "-D", str(old.datadir), "--source-server",
            f"host=127.0.0.1 port={source.port} user=postgres dbname=postgres"]
    deadline = time.monotonic() + REWIND_WAIT_S
    while True:
        ran = await run(argv, 300)
        if ran.returncode == 0:
            return
        if "single-user" not in ran.output or time.monotonic() > deadline:
            ran.check(f"pg_rewind of node {old.name} from node {source.name}")
        await asyncio.sleep(0.2)


async def _require_primary(primary: PgNode) -> None:
    try:
        rows = await sql(primary.port, "SELECT pg_is_in_recovery()", timeout=5)
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same refusal
        raise DbFailoverError(f"primary {primary.name} (port {primary.port}) does not answer "
                              f"({exc}); start it first") from exc
    if rows[0][0]:
        raise DbFailoverError(f"node {primary.name} is in recovery, not a primary")


async def _require_synchronous(primary: PgNode, standby: PgNode) -> None:
    rows = await sql(primary.port, "SELECT state, sync_state, pg_wal_lsn_diff("
                     "pg_current_wal_flush_lsn(), flush_lsn)::bigint FROM pg_stat_replication "
                     "WHERE application_name = %s", [standby.app_name], timeout=5)
    if not rows:
        raise DbFailoverError(f"standby {standby.name} is not replicating from "
                              f"{primary.name}: no switchover (see {standby.log_path})")
    state, sync_state, lag = rows[0]
    if state != "streaming" or sync_state not in ("sync", "quorum"):
        raise DbFailoverError(f"standby {standby.name} is {state}, {sync_state}, not "
                              "synchronous: a switchover could lose writes; wait until "
                              "`covenant db pair status` says sync")
    if lag is not None and lag > SWITCH_LAG_BYTES:
        raise DbFailoverError(f"standby {standby.name} lags {lag} B: writes would pause while "
                              "it catches up; retry when it is closer")


async def _wait_received(old: PgNode, new: PgNode, timeout: float = 10.0) -> None:
    """The standby received the old primary's shutdown checkpoint (so nothing is lost and
    the old primary can follow the new one without a rewind)."""
    ran = (await run([bin_path("pg_controldata"), "-D", str(old.datadir)], 10)).check(
        f"pg_controldata of node {old.name}")
    line = next(x for x in ran.output.splitlines() if x.startswith("Latest checkpoint location"))
    final = line.split(":", 1)[1].strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await sql(new.port, "SELECT pg_last_wal_receive_lsn() > %s::pg_lsn", [final])
        if rows and rows[0][0]:
            return
        await asyncio.sleep(0.02)
    raise DbFailoverError(f"standby {new.name} did not receive {old.name}'s shutdown "
                          f"checkpoint {final} within {timeout:g} s; {old.name} is stopped: "
                          f"start it again (`pg_ctl start`) and retry")
