"""What ``covenant up`` does with ``db.pairs`` (covenant.dbpairs): make a missing pair, start
its nodes, put its endpoint in the fault proxy and hand the region its URL; say so when
there is no pair; refuse a taken endpoint port and a missing pair it may not create."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chaos.server import ToxiproxyServer
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.pairstate import load_state
from controlplane.dbfailover.postgres import sql
from controlplane.dbspec import DbPolicy, PairSpec
from covenant.dbpairs import NO_FAILOVER, start_pairs, stop_pairs
from tests.integration.dbfailover.pairs import free_port, stop_all


async def test_up_makes_the_pair_and_hands_the_region_its_endpoint(
        pair_root: Path, toxiproxy: ToxiproxyServer) -> None:
    spec = PairSpec(dir=str(pair_root / "ams"), primary_port=free_port(),
                    standby_port=free_port(), endpoint_port=0, link_ports=(0, 0))
    try:
        pairs = await start_pairs(DbPolicy(pairs={"ams": spec}), pair_root, toxiproxy.url,
                                  "127.0.0.1")
        state = load_state(pair_root / "ams")
        assert state.endpoint is not None and pairs.supervisor is not None
        assert pairs.database_urls["ams"].endswith(f":{state.endpoint.port}/covenant")
        assert "created" in pairs.rows[0][2]
        rows = await sql(state.endpoint.port, "SELECT pg_is_in_recovery()")
        assert rows == [(False,)]  # through the endpoint: the primary
        await stop_pairs(pairs)
        again = await start_pairs(DbPolicy(pairs={"ams": spec}), pair_root, toxiproxy.url,
                                  "127.0.0.1")  # a second start reuses it
        assert "created" not in again.rows[0][2]
        await stop_pairs(again)
    finally:
        await stop_all(pair_root / "ams")


async def test_up_without_pairs_says_there_is_no_failover(pair_root: Path) -> None:
    pairs = await start_pairs(DbPolicy(), pair_root, "", "127.0.0.1")
    assert pairs.rows == [("db failover", "-", NO_FAILOVER)] and pairs.supervisor is None


async def test_up_refuses_a_taken_endpoint_port_and_a_pair_it_may_not_create(
        pair_root: Path, toxiproxy: ToxiproxyServer) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        spec = PairSpec(dir=str(pair_root / "ams"), endpoint_port=busy.getsockname()[1])
        with pytest.raises(DbFailoverError, match="db.pairs.ams.endpoint_port"):
            await start_pairs(DbPolicy(pairs={"ams": spec}), pair_root, toxiproxy.url,
                              "127.0.0.1")
    assert not (pair_root / "ams").exists()
    spec = PairSpec(dir=str(pair_root / "ams"), endpoint_port=0, link_ports=(0, 0),
                    create=False)
    with pytest.raises(DbFailoverError, match="create is false; run `covenant db pair init"):
        await start_pairs(DbPolicy(pairs={"ams": spec}), pair_root, toxiproxy.url, "127.0.0.1")
