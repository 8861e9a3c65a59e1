"""``covenant db pair init``: a primary and a synchronous streaming standby on this machine,
refused before anything is touched when a binary is missing, a port is in use or the
directory is taken; and the pair's status (roles, LSNs, lag, sync state) read from both
nodes."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql as pgsql

from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.observation import NodeProbe
from controlplane.dbfailover.pairstate import STATE_FILE, PairState, load_state, node, save_state
from controlplane.dbfailover.postgres import (
    HOST,
    PgNode,
    as_server_user,
    bin_path,
    give_to_server_user,
    run,
    sql,
)
from controlplane.dbfailover.probe import probe_node

log = logging.getLogger(__name__)

TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "pg_rewind", "pg_controldata")
SYNC_WAIT_S = 30.0


def port_problem(port: int, flag: str) -> str:
    """Why ``port`` cannot be used ("" when it can)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            return f"port {port} is in use ({exc.strerror}): choose another {flag}"
    return ""


def preflight(region: str, directory: Path, primary_port: int, standby_port: int) -> list[str]:
    """Everything wrong with making a pair here, found before anything is touched."""
    problems: list[str] = []
    for tool in TOOLS:
        try:
            bin_path(tool)
        except DbFailoverError as exc:
            problems.append(str(exc))
    if primary_port == standby_port:
        problems.append(f"--primary-port and --standby-port are both {primary_port}: "
                        "give the standby its own port")
    problems += [p for p in (port_problem(primary_port, "--primary-port"),
                             port_problem(standby_port, "--standby-port")) if p]
    if (directory / STATE_FILE).exists():
        problems.append(f"{directory} already holds a pair: see `covenant db pair status "
                        f"{region} --dir {directory}`, or choose another --dir")
    elif directory.exists() and any(directory.iterdir()):
        problems.append(f"{directory} exists and is not empty: choose an empty or new --dir")
    problems += _reachable_problem(directory)
    return problems


def _reachable_problem(directory: Path) -> list[str]:
    """As root, the postgres user must reach the directory (e.g. not under a 0700 /tmp/x)."""
    if os.geteuid() != 0:
        return []
    parent = directory if directory.exists() else directory.parent
    while not parent.exists():
        parent = parent.parent
    try:
        argv = as_server_user(["test", "-x", str(parent)])
    except DbFailoverError as exc:
        return [str(exc)]
    if subprocess.run(argv, check=False).returncode != 0:
        return [f"the postgres user cannot reach {parent} (a parent directory is not "
                f"searchable, e.g. mode 0700): choose a --dir it can reach"]
    return []


async def init_pair(region: str, directory: Path, primary_port: int, standby_port: int,
                    database: str = "covenant") -> PairState:
    """Make the pair; on failure stop what was started and remove what was made."""
    problems = preflight(region, directory, primary_port, standby_port)
    if problems:
        raise DbFailoverError("; ".join(problems))
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    give_to_server_user(directory)
    state = PairState(region=region, database=database, nodes={"a": primary_port,
                                                               "b": standby_port},
                      primary="a", standby="b", history=(
                          f"{time.strftime('%Y-%m-%dT%H:%M:%S')} gen 1: created, a primary",))
    a, b = node(directory, state, "a"), node(directory, state, "b")
    try:
        await _build(a, b, database)
    except BaseException:
        await _undo(a, b, directory, created)
        raise
    save_state(directory, state)
    return state


async def _build(a: PgNode, b: PgNode, database: str) -> None:
    await a.initdb()
    await a.start()
    await sql(a.port, pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(database)))
    await sql(a.port, "SELECT pg_create_physical_replication_slot(%s)", [b.app_name])
    (await run([bin_path("pg_basebackup"), "-h", HOST, "-p", str(a.port), "-U", "postgres",
                "-D", str(b.datadir), "-X", "stream", "-c", "fast", "-S", b.app_name], 300)
     ).check(f"pg_basebackup of node b from node a (port {a.port})")
    b.write_standby_config(a)
    await b.start()
    await set_sync_names(a, b)
    await wait_synchronous(a, b)


async def _undo(a: PgNode, b: PgNode, directory: Path, created: bool) -> None:
    for n in (b, a):
        if n.datadir.exists():
            try:
                await n.stop("immediate", timeout=10)
            except DbFailoverError as exc:
                log.warning("could not stop node %s while undoing: %s", n.name, exc)
    if created:
        shutil.rmtree(directory, ignore_errors=True)


async def set_sync_names(primary: PgNode, standby: PgNode | None) -> None:
    """The primary waits for ``standby`` on every commit (None: for nobody: asynchronous)."""
    names = f'"{standby.app_name}"' if standby else ""
    await sql(primary.port, pgsql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}")
              .format(pgsql.Literal(names)))
    await sql(primary.port, "SELECT pg_reload_conf()")


async def wait_synchronous(primary: PgNode, standby: PgNode,
                           timeout: float = SYNC_WAIT_S) -> None:
    """Until the primary reports ``standby`` streaming and synchronous."""
    deadline = time.monotonic() + timeout
    seen = "not connected"
    while time.monotonic() < deadline:
        rows = await sql(primary.port, "SELECT state, sync_state FROM pg_stat_replication "
                         "WHERE application_name = %s", [standby.app_name])
        if rows:
            seen = f"{rows[0][0]}, {rows[0][1]}"
            if rows[0][0] == "streaming" and rows[0][1] in ("sync", "quorum"):
                return
        await asyncio.sleep(0.1)
    raise DbFailoverError(f"standby {standby.name} (port {standby.port}) is not synchronous "
                          f"after {timeout:g} s (last seen: {seen}); see {standby.log_path}")


@dataclass(frozen=True, slots=True)
class NodeStatus:
    node: str
    role: str            # primary, standby, fenced (the pair state's)
    port: int
    probe: NodeProbe


async def pair_status(directory: Path, timeout: float = 2.0) -> tuple[PairState,
                                                                       list[NodeStatus]]:
    state = load_state(directory)
    names = sorted(state.nodes)
    probes = await asyncio.gather(*(probe_node(n, state.nodes[n], timeout) for n in names))
    return state, [NodeStatus(n, _role(state, n), state.nodes[n], p)
                   for n, p in zip(names, probes, strict=True)]


def _role(state: PairState, name: str) -> str:
    if name == state.primary:
        return "primary"
    if name == state.standby:
        return "standby"
    return "fenced" if name in state.fenced else "spare"


async def start_nodes(directory: Path) -> PairState:
    """Start the pair's nodes that are not running (``covenant up`` on an existing pair).
    A fenced node stays down: it comes back only through ``covenant db rejoin``."""
    state = load_state(directory)
    for name in (state.primary, state.standby):
        if name is None:
            continue
        pg = node(directory, state, name)
        if not await pg.running():
            await pg.start()
    return state
