"""The ``rds`` backend through boto3 against a moto server (never run against AWS): a
cluster's writer and reader as the observation, ``failover_db_cluster`` to the reader, and
a Multi-AZ instance's reboot with failover."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from controlplane.dbfailover.decide import Condition, decide_pairs
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.rds import RdsPair
from controlplane.dbspec import FailoverPolicy, RdsSpec


def _client(url: str) -> Any:
    return boto3.client("rds", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _spec(url: str, cluster: str, instance: bool = False) -> RdsSpec:
    return RdsSpec(cluster_id=cluster, instance=instance, endpoint_url=url,
                   database_url="postgresql+psycopg://app@writer.example/covenant")


async def test_cluster_failover_to_its_reader(moto_url: str) -> None:
    rds = _client(moto_url)
    rds.create_db_cluster(DBClusterIdentifier="core-ams", Engine="aurora-postgresql",
                          MasterUsername="covenant", MasterUserPassword="secret-password")
    for name in ("core-ams-1", "core-ams-2"):
        rds.create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier="core-ams",
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    pair = RdsPair("ams", _spec(moto_url, "core-ams"), client=rds)
    before = await pair.observe(time.time(), 2.0)
    assert before.primary and before.standby and before.primary != before.standby
    decision = decide_pairs(FailoverPolicy(), {"ams": before}, {}, time.time(), True)
    assert decision.state["ams"].condition is Condition.HEALTHY
    report = await pair.failover("test")
    assert f"failover_db_cluster to {before.standby}" in report.line()
    after = await pair.observe(time.time(), 2.0)
    assert after.primary == before.standby


async def test_multi_az_instance_reboots_with_failover(moto_url: str) -> None:
    rds = _client(moto_url)
    rds.create_db_instance(DBInstanceIdentifier="core-iad", Engine="postgres", MultiAZ=True,
                           DBInstanceClass="db.m6g.large", AllocatedStorage=20,
                           MasterUsername="covenant", MasterUserPassword="secret-password")
    pair = RdsPair("iad", _spec(moto_url, "core-iad", instance=True), client=rds)
    obs = await pair.observe(time.time(), 2.0)
    assert (obs.primary, obs.standby) == ("core-iad", "core-iad-standby")
    assert "rebooted core-iad with failover" in (await pair.failover("test")).line()


async def test_an_unknown_cluster_is_named(moto_url: str) -> None:
    pair = RdsPair("ams", _spec(moto_url, "nope"), client=_client(moto_url))
    with pytest.raises(DbFailoverError, match="nope.*check rds.cluster_id"):
        await pair.observe(time.time(), 2.0)
