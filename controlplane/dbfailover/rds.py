"""The ``rds`` backend: an Aurora / Multi-AZ DB cluster (``failover_db_cluster``) or a
Multi-AZ DB instance (``reboot_db_instance(ForceFailover=True)``) through boto3. Tested only
against a moto server; never run against AWS (docs/dbfailover.md)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import NodeProbe, PairObservation, Replica
from controlplane.dbspec import RdsSpec


@dataclass(frozen=True, slots=True)
class RdsReport:
    operation: str
    region: str
    detail: str
    took_s: float

    def line(self) -> str:
        return f"{self.operation} of {self.region} via RDS in {self.took_s:.3f} s: {self.detail}"


class RdsPair:
    def __init__(self, region: str, spec: RdsSpec, client: Any | None = None) -> None:
        self.region = region
        self.spec = spec
        self._client = client

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("rds", region_name=self.spec.aws_region,
                                        endpoint_url=self.spec.endpoint_url)
        return self._client

    async def observe(self, at: float, timeout: float) -> PairObservation:
        return await asyncio.to_thread(self._observe, at)

    def _observe(self, at: float) -> PairObservation:
        if self.spec.instance:
            found = self._call("describe_db_instances",
                               DBInstanceIdentifier=self.spec.cluster_id)["DBInstances"][0]
            primary = str(found["DBInstanceIdentifier"])
            standby = f"{primary}-standby" if found.get("MultiAZ") else None
            return _observation(self.region, at, primary, standby,
                                found.get("DBInstanceStatus") == "available")
        cluster = self._call("describe_db_clusters",
                             DBClusterIdentifier=self.spec.cluster_id)["DBClusters"][0]
        members = cluster.get("DBClusterMembers", [])
        writer = next((m for m in members if m.get("IsClusterWriter")), None)
        reader = next((m for m in members if not m.get("IsClusterWriter")), None)
        return _observation(self.region, at,
                            str(writer["DBInstanceIdentifier"]) if writer else "?",
                            str(reader["DBInstanceIdentifier"]) if reader else None,
                            writer is not None and cluster.get("Status") == "available")

    def _call(self, name: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client(), name)(**kwargs)
        except Exception as exc:  # noqa: BLE001 - botocore's errors share no useful base here
            raise DbFailoverError(f"RDS {name}({kwargs}) failed for {self.region}: {exc}; "
                                  "check rds.cluster_id and the credentials") from exc

    async def failover(self, reason: str) -> RdsReport:
        return await asyncio.to_thread(self._failover)

    def _failover(self) -> RdsReport:
        started = time.perf_counter()
        if self.spec.instance:
            self._call("reboot_db_instance", DBInstanceIdentifier=self.spec.cluster_id,
                       ForceFailover=True)
            detail = f"rebooted {self.spec.cluster_id} with failover"
        else:
            obs = self._observe(time.time())
            if obs.standby is None:
                raise DbFailoverError(f"RDS cluster {self.spec.cluster_id} has no reader to "
                                      "fail over to")
            self._call("failover_db_cluster", DBClusterIdentifier=self.spec.cluster_id,
                       TargetDBInstanceIdentifier=obs.standby)
            detail = f"failover_db_cluster to {obs.standby}"
        return RdsReport("failover", self.region, detail, time.perf_counter() - started)

    async def switchover(self) -> RdsReport:
        return await self.failover("switchover")  # RDS has no separate planned operation

    async def set_synchronous(self, on: bool) -> None:
        raise DbFailoverError("RDS replication mode is AWS's: nothing for Covenant to set")


def _observation(region: str, at: float, primary: str, standby: str | None,
                 available: bool) -> PairObservation:
    """Aurora acknowledges a write once a quorum of its shared storage has it, so any reader
    counts as synchronous; a Multi-AZ instance's standby is synchronous by design."""
    replicas = (Replica(standby, "streaming", "sync", None),) if standby else ()
    nodes = {primary: NodeProbe(primary, True, 0.0, "", False, None, None, "*", replicas)
             if available else NodeProbe(primary, False, 0.0, "not available")}
    if standby:
        nodes[standby] = NodeProbe(standby, True, 0.0, "", True)
    return PairObservation(region, at, 1, primary, standby, standby, "", nodes)
