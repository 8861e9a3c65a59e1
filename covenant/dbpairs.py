"""``covenant up`` with database pairs: before the region APIs start, create each native
pair that is missing (``db.pairs.<region>.create``), start its nodes, put its endpoint and
links in the fault proxy, and hand the region API the endpoint's URL; then the control
plane gets the pairs' supervisor. A stack without pairs says that it has no failover."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from controlplane.dbfailover.backends import build_supervisor, pair_dir
from controlplane.dbfailover.endpoint import ensure_endpoint
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.pair import init_pair, port_problem, start_nodes
from controlplane.dbfailover.pairstate import STATE_FILE, save_state
from controlplane.dbfailover.supervisor import DbSupervisor
from controlplane.dbspec import DbPolicy, PairSpec

log = logging.getLogger(__name__)

NO_FAILOVER = ("none: each region's database is a local SQLite file (no standby, no "
               "failover); see docs/dbfailover.md to give a region a PostgreSQL pair")


@dataclass
class Pairs:
    """What the stack needs from its pairs."""

    database_urls: dict[str, str] = field(default_factory=dict)  # region -> its endpoint URL
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # components table
    supervisor: DbSupervisor | None = None
    dirs: dict[str, Path] = field(default_factory=dict)


async def start_pairs(db: DbPolicy, data_dir: Path, toxiproxy: str, host: str) -> Pairs:
    pairs = Pairs()
    if not db.pairs:
        pairs.rows.append(("db failover", "-", NO_FAILOVER))
        return pairs
    for region, spec in sorted(db.pairs.items()):
        if spec.backend != "native":
            url = spec.patroni.database_url if spec.patroni else \
                spec.rds.database_url if spec.rds else ""
            pairs.database_urls[region] = url
            pairs.rows.append((f"db pair {region}", url, f"{spec.backend} backend"))
            continue
        directory = pair_dir(region, spec, data_dir)
        await _native(pairs, region, spec, directory, toxiproxy, host)
    pairs.supervisor = build_supervisor(db, data_dir)
    return pairs


async def _native(pairs: Pairs, region: str, spec: PairSpec, directory: Path, toxiproxy: str,
                  host: str) -> None:
    ports = {"endpoint_port": spec.endpoint_port, "link_ports[0]": spec.links()[0],
             "link_ports[1]": spec.links()[1]}
    taken = [port_problem(port, f"db.pairs.{region}.{name}") for name, port in ports.items()
             if port]
    if any(taken):  # before the pair is made or started: the fault proxy binds these
        raise DbFailoverError("; ".join(t for t in taken if t))
    made = ""
    if not (directory / STATE_FILE).exists():
        if not spec.create:
            raise_missing(region, directory)
        log.info("creating the database pair of %s in %s", region, directory)
        await init_pair(region, directory, spec.primary_port, spec.standby_port,
                        spec.database)
        made = "created; "
    state = await start_nodes(directory)
    info = await ensure_endpoint(toxiproxy, state, spec.endpoint_port, spec.links())
    save_state(directory, state.model_copy(update={"endpoint": info}))
    pairs.dirs[region] = directory
    url = f"postgresql+psycopg://postgres@{host}:{info.port}/{state.database}"
    pairs.database_urls[region] = url
    roles = ", ".join(f"{n} :{p}{' primary' if n == state.primary else ''}"
                      f"{' standby' if n == state.standby else ''}"
                      f"{' fenced' if n in state.fenced else ''}"
                      for n, p in sorted(state.nodes.items()))
    pairs.rows.append((f"db pair {region}", url, f"{made}{roles}; endpoint proxy "
                       f"{info.proxy}, links {', '.join(info.links.values())}; {directory}"))


def raise_missing(region: str, directory: Path) -> None:
    raise DbFailoverError(f"db.pairs.{region}: no pair in {directory} and create is false; "
                          f"run `covenant db pair init {region} --dir {directory}`")


async def stop_pairs(pairs: Pairs) -> None:
    """Stop the nodes ``covenant up`` runs (a clean shutdown; they start again next time)."""
    from controlplane.dbfailover.pairstate import load_state, node

    for region, directory in pairs.dirs.items():
        state = load_state(directory)
        for name in state.nodes:
            try:
                await node(directory, state, name).stop("fast")
            except Exception as exc:  # noqa: BLE001 - stopping the rest matters more
                log.warning("could not stop %s node %s: %s", region, name, exc)
