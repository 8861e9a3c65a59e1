"""The ``db:`` section of ``covenant.yaml`` (a module of its own, beside ``controlplane.desired``
which embeds it, so that ``controlplane.dbfailover`` can import both without a cycle): which
regions have a PostgreSQL pair, where it lives, which backend fails it over, and the failover
policy.

```yaml
db:
  pairs:
    ams: {dir: .covenant/pg/ams, primary_port: 5441, standby_port: 5442, endpoint_port: 5440}
  policy: {down_after: 2, probe_timeout_s: 0.5, sync_grace_s: 5}
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Backend = Literal["native", "patroni", "rds"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatroniSpec(_Model):
    """The members' REST APIs (any one answers for the cluster)."""

    urls: tuple[str, ...] = Field(min_length=1, description="e.g. http://10.0.0.5:8008")
    database_url: str = Field(description="What the region API connects to: libpq multi-host "
                              "with target_session_attrs=read-write, or a load balancer.")


class RdsSpec(_Model):
    cluster_id: str = Field(min_length=1, description="DBClusterIdentifier (Aurora / Multi-AZ "
                            "cluster), or the DBInstanceIdentifier with instance: true.")
    instance: bool = Field(default=False, description="A Multi-AZ DB instance: failover is "
                           "reboot_db_instance(ForceFailover=True).")
    aws_region: str = "us-east-1"
    endpoint_url: str | None = Field(default=None, description="Only for moto / a local AWS.")
    database_url: str = Field(description="The cluster's writer endpoint (DNS follows AWS).")


class PairSpec(_Model):
    """One region's pair. ``native``: two local PostgreSQL nodes made by ``covenant db pair
    init`` (ports are the nodes' own; ``endpoint_port`` is the fault-proxy endpoint the
    region API connects to; ``link_ports`` the fault-proxy links in front of each node,
    through which clients and the control plane reach it, so a node can be cut off)."""

    backend: Backend = "native"
    dir: str | None = Field(default=None, description="native: the pair's directory "
                            "(default <data_dir>/pg/<region>).")
    primary_port: int = Field(default=5441, ge=1, le=65535)
    standby_port: int = Field(default=5442, ge=1, le=65535)
    endpoint_port: int = Field(default=5440, ge=0, le=65535)
    link_ports: tuple[int, int] | None = Field(
        default=None, description="Ports of the links in front of node a and node b "
        "(default: the node ports + 100). 0 picks free ports.")
    database: str = Field(default="covenant", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    create: bool = Field(default=True, description="covenant up creates the pair if missing.")
    patroni: PatroniSpec | None = None
    rds: RdsSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PairSpec:
        ports = [self.primary_port, self.standby_port, self.endpoint_port, *self.links()]
        used = [p for p in ports if p]
        if len(set(used)) != len(used):
            raise ValueError(f"the pair's ports must differ, got {ports} (primary, standby, "
                             "endpoint, links)")
        if self.backend == "patroni" and self.patroni is None:
            raise ValueError("backend 'patroni' needs a 'patroni:' section (urls, database_url)")
        if self.backend == "rds" and self.rds is None:
            raise ValueError("backend 'rds' needs an 'rds:' section (cluster_id, database_url)")
        return self

    def links(self) -> tuple[int, int]:
        if self.link_ports is not None:
            return self.link_ports
        return (self.primary_port + 100, self.standby_port + 100)


class FailoverPolicy(_Model):
    probe_timeout_s: float = Field(default=0.5, gt=0, le=10, description="Per database probe "
                                   "(connect and one query); a probe past it has failed.")
    down_after: int = Field(default=2, ge=1, description="Consecutive failed probes of the "
                            "primary before it is down (one slow query does not fail over).")
    sync_grace_s: float = Field(default=5.0, ge=0, description="How long writes may wait on a "
                                "primary with no synchronous standby before it goes "
                                "asynchronous (and failover is off until the standby is "
                                "synchronous again).")
    resync_lag_bytes: int = Field(default=16 * 1024 * 1024, ge=0, description="Most bytes "
                                  "a returning standby may lag before it is made synchronous "
                                  "again (writes would wait while it catches up).")
    replication_lag_s: float = Field(default=30.0, gt=0, description="Replay lag of the "
                                     "standby (seconds) above which the replication_lag "
                                     "runbook trigger stands.")
    fence_stop: bool = Field(default=True, description="native: also stop the old primary "
                             "(pg_ctl stop -m immediate) and leave standby.signal in its "
                             "directory, besides blocking its link.")


class DbPolicy(_Model):
    pairs: dict[str, PairSpec] = Field(default_factory=dict, description="Region -> its pair.")
    policy: FailoverPolicy = FailoverPolicy()
