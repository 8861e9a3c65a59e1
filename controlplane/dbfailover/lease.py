"""The control plane's leader lease must not live on a database it fails over: an advisory
lock (controlplane.leader.PostgresLease) vanishes with its primary, so every replica would
lose leadership in the very moment one of them has to act."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from controlplane.dbspec import PairSpec

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "")


def lease_problem(state_url: str | None, pairs: Mapping[str, PairSpec]) -> str:
    """Why ``state_url`` (where the lease lives) is unsafe with these pairs ("" when it is
    not: SQLite and file leases, or a PostgreSQL outside every pair)."""
    if not state_url or not state_url.startswith("postgresql"):
        return ""
    try:
        url = make_url(state_url)
    except ArgumentError:
        return ""
    host, port = url.host or "", url.port or 5432
    for region, spec in sorted(pairs.items()):
        hit = _names_pair(host, port, spec)
        if hit:
            return (f"state_url {url.render_as_string(hide_password=True)} is the database "
                    f"pair of {region} ({hit}): the leader lease (a PostgreSQL advisory lock) "
                    "would vanish with the primary the control plane fails over; put "
                    "state_url on a PostgreSQL outside every db.pairs entry, or leave it "
                    "unset (SQLite and a file lease)")
    return ""


def _names_pair(host: str, port: int, spec: PairSpec) -> str:
    for other in (spec.patroni.database_url if spec.patroni else None,
                  spec.rds.database_url if spec.rds else None):
        if other:
            theirs = make_url(other)
            if (theirs.host or "") == host and (theirs.port or 5432) == port:
                return "its database_url"
    if spec.backend != "native" or host not in LOCAL_HOSTS:
        return ""
    ports = {"primary port": spec.primary_port, "standby port": spec.standby_port,
             "endpoint port": spec.endpoint_port, "link port a": spec.links()[0],
             "link port b": spec.links()[1]}
    return next((f"its {name} {port}" for name, p in ports.items() if p == port), "")
