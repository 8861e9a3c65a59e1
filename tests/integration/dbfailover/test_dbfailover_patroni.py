"""The ``patroni`` backend against a real two-node Patroni cluster with etcd: the cluster
as the pure decision's observation, a switchover and a failover through its REST API."""

from __future__ import annotations

import time
from pathlib import Path

from bench.patroni_cluster import PatroniCluster
from controlplane.dbfailover.decide import Condition, decide_pairs
from controlplane.dbfailover.patroni import PatroniPair
from controlplane.dbfailover.postgres import give_to_server_user
from controlplane.dbspec import FailoverPolicy


async def test_observe_switchover_and_failover_through_patroni(pair_root: Path) -> None:
    root = pair_root / "patroni"
    root.mkdir()
    give_to_server_user(root)
    cluster = PatroniCluster(root, ttl=10, loop_wait=2, retry_timeout=4)
    try:
        await cluster.start()
        backend = PatroniPair("ams", cluster.urls)
        leader = await cluster.wait_leader(60)
        obs = await backend.observe(time.time(), 2.0)
        assert obs.primary == leader and obs.standby is not None
        replica = obs.standby_replica()
        assert replica is not None and replica.synchronous
        decision = decide_pairs(FailoverPolicy(), {"ams": obs}, {}, time.time(), True)
        assert decision.state["ams"].condition is Condition.HEALTHY
        report = await backend.switchover()
        assert "switchover" in report.line()
        switched = await cluster.wait_leader(90, other_than=leader)
        assert switched == obs.standby
        await cluster.wait_healthy(180)
        report = await backend.failover("test")
        assert "failover" in report.line()
        assert await cluster.wait_leader(90, other_than=switched) == leader
    finally:
        await cluster.stop()
