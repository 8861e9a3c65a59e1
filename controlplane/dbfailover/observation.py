"""One frozen snapshot per pair per cycle: what each node's probe saw.

A node is named ``a`` or ``b`` for life; its role (primary, standby, fenced) is the pair
state's, recorded by whoever last changed it (``pair init``, a failover, a rejoin).
"""

from __future__ import annotations

from dataclasses import dataclass, field


def parse_lsn(text: str | None) -> int | None:
    """``'0/3000148'`` -> 50331976; None stays None (no LSN: not a standby, not yet)."""
    if not text:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True, slots=True)
class Replica:
    """One row of the primary's ``pg_stat_replication``."""

    name: str             # application_name: ``<region>_<node>``
    state: str            # streaming, catchup, ...
    sync_state: str       # sync, quorum, potential, async
    flush_lsn: int | None
    replay_lag_s: float | None = None  # how far behind its replay is, in time

    @property
    def synchronous(self) -> bool:
        return self.state == "streaming" and self.sync_state in ("sync", "quorum")


@dataclass(frozen=True, slots=True)
class NodeProbe:
    node: str
    ok: bool                       # connected and answered within the probe timeout
    latency_s: float
    problem: str = ""              # "" when ok
    in_recovery: bool | None = None
    lsn: int | None = None         # primary: flushed WAL; standby: replayed WAL
    receive_lsn: int | None = None  # standby: WAL received and flushed
    sync_names: str | None = None  # synchronous_standby_names
    replicas: tuple[Replica, ...] = ()

    def replica(self, name: str) -> Replica | None:
        return next((r for r in self.replicas if r.name == name), None)


@dataclass(frozen=True, slots=True)
class PairObservation:
    region: str
    at: float
    generation: int               # bumped by every change of roles
    primary: str                  # the node the pair state says is primary
    standby: str | None           # None: no standby (e.g. the old primary awaits a rejoin)
    standby_name: str | None      # its application_name on the primary
    busy: str = ""                # another process holds the pair (switchover, rejoin)
    nodes: dict[str, NodeProbe] = field(default_factory=dict)

    @property
    def primary_probe(self) -> NodeProbe | None:
        return self.nodes.get(self.primary)

    @property
    def standby_probe(self) -> NodeProbe | None:
        return self.nodes.get(self.standby) if self.standby else None

    def standby_replica(self) -> Replica | None:
        primary = self.primary_probe
        if primary is None or not self.standby_name:
            return None
        return primary.replica(self.standby_name)

    def lag_bytes(self) -> int | None:
        """How far the standby's flushed WAL trails the primary's (as the primary sees it)."""
        primary, replica = self.primary_probe, self.standby_replica()
        if primary is None or replica is None or primary.lsn is None or \
                replica.flush_lsn is None:
            return None
        return max(0, primary.lsn - replica.flush_lsn)
