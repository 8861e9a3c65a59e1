"""Build each region's pair backend from its spec (``db.pairs`` in covenant.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from controlplane.dbfailover.native import NativePair
from controlplane.dbfailover.supervisor import DbSupervisor, PairBackend
from controlplane.dbspec import DbPolicy, PairSpec


def pair_dir(region: str, spec: PairSpec, data_dir: Path) -> Path:
    return Path(spec.dir).resolve() if spec.dir else (data_dir / "pg" / region).resolve()


def backend_for(region: str, spec: PairSpec, data_dir: Path, fence_stop: bool) -> PairBackend:
    if spec.backend == "patroni" and spec.patroni is not None:
        from controlplane.dbfailover.patroni import PatroniPair

        return PatroniPair(region, spec.patroni.urls)
    if spec.backend == "rds" and spec.rds is not None:
        from controlplane.dbfailover.rds import RdsPair

        return RdsPair(region, spec.rds)
    return NativePair(region, pair_dir(region, spec, data_dir), fence_stop=fence_stop)


def build_supervisor(db: DbPolicy, data_dir: Path,
                     only: Mapping[str, PairSpec] | None = None) -> DbSupervisor:
    pairs = only if only is not None else db.pairs
    return DbSupervisor(db.policy, {
        region: backend_for(region, spec, data_dir, db.policy.fence_stop)
        for region, spec in pairs.items()})
