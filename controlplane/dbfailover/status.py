"""``covenant db pair status``: the pair as one rich table (pure rendering)."""

from __future__ import annotations

from rich.table import Table

from controlplane.dbfailover.pair import NodeStatus
from controlplane.dbfailover.pairstate import PairState


def status_table(state: PairState, nodes: list[NodeStatus]) -> Table:
    table = Table(title=f"db pair {state.region} (generation {state.generation})")
    for column in ("node", "role", "port", "up", "recovery", "LSN", "lag", "sync"):
        table.add_column(column)
    primary = next((n.probe for n in nodes if n.node == state.primary), None)
    for n in nodes:
        probe = n.probe
        replica = primary.replica(f"{state.region}_{n.node}".replace("-", "_")) \
            if primary and primary.ok else None
        lag = "-"
        if replica and primary and primary.lsn is not None and replica.flush_lsn is not None:
            lag = f"{max(0, primary.lsn - replica.flush_lsn)} B"
        sync = (f"{replica.state}, {replica.sync_state}" if replica else
                ("waits for " + (probe.sync_names or "nobody (async)"))
                if n.node == state.primary and probe.ok else "-")
        table.add_row(n.node, n.role, str(n.port), "yes" if probe.ok else f"no: {probe.problem}",
                      "-" if probe.in_recovery is None else str(probe.in_recovery).lower(),
                      _lsn(probe.lsn), lag, sync)
    if state.endpoint:
        table.caption = (f"endpoint 127.0.0.1:{state.endpoint.port} ({state.endpoint.proxy}) "
                         f"-> {state.primary}")
    return table


def _lsn(value: int | None) -> str:
    return "-" if value is None else f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"
