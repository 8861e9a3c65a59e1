"""The native backend end to end: the region API writes through its endpoint while the
primary is killed (kill -9) or cut off; the real reconciler detects it from its own probes,
fences, promotes and re-points; the API carries on without a restart; every write it
acknowledged is on the new primary; the old primary rejoins with pg_rewind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chaos.server import ToxiproxyServer
from controlplane.assembly import build_control_plane
from controlplane.dbfailover.backends import build_supervisor
from controlplane.dbfailover.endpoint import ensure_endpoint
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.native import NativePair
from controlplane.dbfailover.pairstate import PairState, load_state, save_state
from controlplane.dbfailover.postgres import sql
from controlplane.dbspec import DbPolicy, FailoverPolicy, PairSpec
from controlplane.desired import DesiredState, ProbePolicy, Region, SloPolicy
from kernel.settings import Settings
from tests.integration.dbfailover.pairs import (
    kill_postmaster,
    kill_primary_under_writes,
    start_api,
    stop_api,
)
from tests.waiting import eventually

RTO_LIMIT_S = 10.0  # the benchmark measures; this only guards against a broken path


async def _with_endpoint(directory: Path, state: PairState,
                         toxiproxy: ToxiproxyServer) -> PairState:
    info = await ensure_endpoint(toxiproxy.url, state, 0, (0, 0))
    state = state.model_copy(update={"endpoint": info})
    save_state(directory, state)
    return state


def _desired(api_url: str, directory: Path, state: PairState) -> DesiredState:
    spec = PairSpec(dir=str(directory), primary_port=state.nodes["a"],
                    standby_port=state.nodes["b"], endpoint_port=0, link_ports=(0, 0))
    return DesiredState(
        regions=(Region(name="ams", latitude=52.37, longitude=4.9, endpoint=api_url,
                        origin=api_url),),
        probe=ProbePolicy(interval_s=1.0), slo=SloPolicy(enforce=False),
        db=DbPolicy(pairs={"ams": spec}, policy=FailoverPolicy(down_after=2)))


async def _names(port: int) -> set[str]:
    rows = await sql(port, "SELECT name FROM projects WHERE name LIKE 'dbf-%'",
                     dbname="covenant")
    return {r[0] for r in rows}


async def test_kill_primary_api_carries_on_no_acknowledged_write_lost(
        pair: tuple[Path, PairState], toxiproxy: ToxiproxyServer, pair_root: Path) -> None:
    directory, state = pair
    state = await _with_endpoint(directory, state, toxiproxy)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{state.endpoint.port}/covenant"  # type: ignore[union-attr]
    api = await start_api("ams", url, pair_root)
    desired = _desired(api.url, directory, state)
    plane = build_control_plane(desired, Settings(data_dir=pair_root / "cp"),
                                db=build_supervisor(desired.db, pair_root))
    stop = asyncio.Event()
    loop = asyncio.create_task(plane.reconciler.run(stop))
    try:
        log, rto = await kill_primary_under_writes(api.url, directory, "dbf",
                                                   "the control plane")
        print(f"RTO {rto:.2f} s, {len(log.acked)} acknowledged, {log.failed} failed")
        assert rto < RTO_LIMIT_S
        assert api.process.poll() is None  # the API was never restarted
    finally:
        stop.set()
        await loop
        await plane.close()
        stop_api(api)
    after = load_state(directory)
    assert (after.primary, after.standby, after.fenced) == ("b", None, ("a",))
    on_new_primary = await _names(after.nodes["b"])
    assert {name for _, name in log.acked} <= on_new_primary  # zero acknowledged writes lost
    # the old primary is fenced: standby.signal left behind, its link blocked
    assert (directory / "a" / "standby.signal").exists()
    report = await NativePair("ams", directory).rejoin()
    assert "synchronous" in report.line()
    rejoined = load_state(directory)
    assert (rejoined.primary, rejoined.standby, rejoined.fenced) == ("b", "a", ())
    rows = await sql(rejoined.nodes["a"], "SELECT pg_is_in_recovery()")
    assert rows[0][0] is True
    assert {name for _, name in log.acked} <= await _names(rejoined.nodes["a"])


@pytest.mark.parametrize("mode", ["immediate"])
async def test_fenced_old_primary_that_comes_back_takes_no_writes(
        pair: tuple[Path, PairState], toxiproxy: ToxiproxyServer, mode: str) -> None:
    """After a failover, someone restarts the old primary by hand: standby.signal makes it a
    read-only standby, and its link stays blocked; even without standby.signal it would
    wait forever for a synchronous standby that is gone, acknowledging nothing."""
    directory, state = pair
    state = await _with_endpoint(directory, state, toxiproxy)
    await sql(state.nodes["a"], "CREATE TABLE t (id int PRIMARY KEY)", dbname="covenant")
    kill_postmaster(directory, "a")
    await NativePair("ams", directory).failover("test")
    old = NativePair("ams", directory)._node(load_state(directory), "a")

    async def started() -> bool:  # once the killed postmaster's orphans have exited
        try:
            await old.start()
        except DbFailoverError:
            return False
        return True
    await eventually(started, "an operator to bring the old primary back", 30, 0.2)
    rows = await sql(old.port, "SELECT pg_is_in_recovery()")
    assert rows[0][0] is True
    with pytest.raises(Exception, match="read-only"):
        await sql(old.port, "INSERT INTO t VALUES (1)", dbname="covenant")
    await old.stop(mode)
    (old.datadir / "standby.signal").unlink()  # worse: someone removes the fence too
    await old.start()
    with pytest.raises(Exception, match="took more than"):
        await sql(old.port, "INSERT INTO t VALUES (2)", dbname="covenant", timeout=2.0)
    # the endpoint never points at it: writes through it land on b
    port = load_state(directory).endpoint.port  # type: ignore[union-attr]
    await sql(port, "INSERT INTO t VALUES (3)", dbname="covenant")
    assert await sql(load_state(directory).nodes["b"], "SELECT id FROM t",
                     dbname="covenant") == [(3,)]
