"""Named probes a ``check`` of ``type: probe`` may read, and the verdicts a trigger may name,
as data (implementations and the live verdict stream are injected).

The composition root maps each name to a :class:`runbooks.ports.CheckRunner` that reads the
control plane's observations, the database pair or the bus; :func:`runbooks.validate.validate`
refuses a name not listed here (or not in the list the root passes).
"""

from __future__ import annotations

from collections.abc import Mapping

# name -> (what it returns, its arguments)
PROBES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "region.health": ("healthy | degraded | down | recovering (the reconciler's verdict)",
                      ("region",)),
    "region.reachable": ("true when the region's /health answers from the control plane",
                         ("region",)),
    "region.latency_s": ("the median of the control plane's last probes of the region, in "
                         "seconds, through its endpoint (what users see); none when "
                         "unreachable", ("region",)),
    "region.p99_s": ("the users' p99 latency in seconds over the control plane's last cycle "
                     "(the region's own duration histogram); none without requests",
                     ("region",)),
    "route.weight": ("the region's share of its own traffic, 0..1", ("region",)),
    "route.drained": ("true while the region is drained by hand or by a runbook "
                      "(route.drain) until route.restore", ("region",)),
    "db.role": ("primary | standby | down: the role of the region's database node",
                ("region", "node")),
    "db.replication_lag_s": ("seconds the standby is behind its primary", ("region",)),
    "db.disk_free_ratio": ("free share of the database volume, 0..1", ("region",)),
    "cache.ping": ("true when the region's Redis answers PING", ("region",)),
    "bus.connected": ("true when the event bus (NATS JetStream) accepts a publish", ("region",)),
    "chaos.paused": ("true while chaos experiments are paused", ()),
    "chaos.active": ("true while a chaos fault (a toxic, a disabled proxy) is on the region's "
                     "path", ("region",)),
    "deploy.frozen": ("true while the error-budget policy freezes deploys (what "
                      "`covenant slo gate` reads)", ()),
    "incident.active": ("true while the region has an open incident", ("region",)),
    "evidence.age_s": ("seconds since the last evidence entry was appended to the ledger",
                       ("region", "control")),
}

# Verdicts a runbook trigger may name: the reconciler's (region_down, latency, budget_burn) and
# the detectors' that the composition root maps onto them. The root passes the live list to
# :func:`runbooks.validate.validate`; this default keeps ``covenant runbook validate`` useful
# without a stack.
VERDICTS: Mapping[str, str] = {
    "region_down": "the reconciler marked the region down (unreachable or failing probes)",
    "latency": "the region is degraded by latency (p99 over its threshold)",
    "budget_burn": "the SLO policy sees the error budget burning at page speed",
    "db_primary_down": "the region's PostgreSQL primary refuses connections",
    "replication_lag": "the region's standby lags its primary beyond the threshold",
    "cache_down": "the region's Redis does not answer",
    "bus_down": "the event bus refuses publishes; events wait in the outbox",
    "db_disk_filling": "the database volume is nearly full (data or WAL)",
    "residency_violation": "personal data is stored outside its home region",
    "evidence_stale": "the evidence ledger has had no entry for too long",
}
