"""PostgreSQL's own tools and one node of a pair: initdb, pg_ctl, pg_basebackup, pg_rewind,
run as the ``postgres`` user when we are root (the server refuses to run as root), and SQL
over a short-lived psycopg connection.

Every effect is a subprocess or one connection with a timeout; a missing binary is an error
naming the package that brings it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.sql import Composed

from controlplane.dbfailover.errors import DbFailoverError
from kernel.files import atomic_write

log = logging.getLogger(__name__)

PG_BIN_ENV = "COVENANT_PG_BIN"
DEFAULT_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
                    "/usr/lib/postgresql/17/bin")
INSTALL_HINT = ("install PostgreSQL's server binaries (Debian: apt-get install postgresql-15, "
                "or run scripts/ensure-tools.sh), or point COVENANT_PG_BIN at their directory")
SERVER_USER = "postgres"
HOST = "127.0.0.1"

# Written to each node's covenant.conf (included from postgresql.conf). The ports come from
# `pg_ctl -o "-p PORT"`, synchronous_standby_names from ALTER SYSTEM (the control plane's).
NODE_CONF = """\
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 60
shared_buffers = '32MB'
wal_level = replica
wal_log_hints = on              # pg_rewind can turn a failed primary into the new standby
wal_keep_size = '256MB'         # ... and finds the WAL back to the last common checkpoint
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
synchronous_commit = on         # a commit is acknowledged once the standby flushed it
wal_receiver_status_interval = '1s'
wal_retrieve_retry_interval = '100ms'   # a standby told to promote does not sit out 5 s
wal_sender_timeout = '10s'
logging_collector = off
"""
HBA_LINES = ("host all all 127.0.0.1/32 trust\n"
             "host replication all 127.0.0.1/32 trust\n")


def bin_path(name: str) -> str:
    """The PostgreSQL binary ``name`` (COVENANT_PG_BIN, then Debian's directories, then PATH)."""
    dirs = [os.environ[PG_BIN_ENV]] if os.environ.get(PG_BIN_ENV) else list(DEFAULT_BIN_DIRS)
    for directory in dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise DbFailoverError(f"{name} not found in {', '.join(dirs)} or on PATH: {INSTALL_HINT}")


def as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` run as ``postgres`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return list(argv)
    runuser = shutil.which("runuser")
    if runuser is None:
        raise DbFailoverError("runuser not found: it runs PostgreSQL's tools as the postgres "
                              "user when Covenant runs as root (Debian: util-linux)")
    server_user()
    return [runuser, "-u", SERVER_USER, "--", *argv]


def server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise DbFailoverError(f"no '{SERVER_USER}' user: as root Covenant runs PostgreSQL as "
                              f"it; {INSTALL_HINT}") from exc


def give_to_server_user(path: Path) -> None:
    """Make ``path`` the server's (when we are root; else it is already ours)."""
    if os.geteuid() == 0:
        user = server_user()
        os.chown(path, user.pw_uid, user.pw_gid)


def write_server_file(path: Path, text: str) -> None:
    atomic_write(path, text)
    give_to_server_user(path)


@dataclass(frozen=True, slots=True)
class Ran:
    argv: tuple[str, ...]
    returncode: int
    output: str

    def check(self, what: str) -> Ran:
        if self.returncode != 0:
            tail = " | ".join(self.output.strip().splitlines()[-4:])
            raise DbFailoverError(f"{what} failed (exit {self.returncode}): {tail}")
        return self


async def run(argv: Sequence[str], timeout: float = 60.0) -> Ran:
    """Run a PostgreSQL tool (as the server user), return its exit code and output.

    The output goes to a temporary file, not a pipe: ``pg_ctl start`` leaves a postmaster
    behind that may inherit the pipe (it does under uvloop), and waiting for the pipe's end
    would then wait for the server to stop."""
    full = as_server_user(argv)
    with tempfile.TemporaryFile() as out:
        proc = await asyncio.create_subprocess_exec(
            *full, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL, cwd="/")
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError as exc:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise DbFailoverError(f"{Path(argv[0]).name} did not finish within {timeout:g} "
                                  f"s: {' '.join(argv)}") from exc
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Ran(tuple(argv), proc.returncode or 0, output)


def conninfo(port: int, dbname: str = "postgres", application_name: str = "covenant",
             host: str = HOST) -> str:
    return (f"host={host} port={port} user={SERVER_USER} dbname={dbname} "
            f"application_name={application_name} connect_timeout=2")


async def sql(port: int, query: str | Composed, params: Sequence[Any] | None = None,
              timeout: float = 10.0, dbname: str = "postgres",
              host: str = HOST) -> list[tuple[Any, ...]]:
    """One statement on a fresh autocommit connection; rows (empty for no result)."""
    statement: bytes | Composed = query.encode() if isinstance(query, str) else query

    async def go() -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(
                conninfo(port, dbname, host=host), autocommit=True) as conn:
            cur = await conn.execute(statement, params)
            return list(await cur.fetchall()) if cur.description else []
    try:
        return await asyncio.wait_for(go(), timeout)
    except TimeoutError as exc:
        raise DbFailoverError(f"{host}:{port}: {str(query)[:40]!r} took more than "
                              f"{timeout:g} s") from exc


@dataclass(frozen=True, slots=True)
class PgNode:
    """One PostgreSQL server of a pair: ``a`` or ``b``, its port and its data directory."""

    region: str
    name: str
    port: int
    datadir: Path

    @property
    def app_name(self) -> str:
        """Its application_name on the primary, and its replication slot's name."""
        return f"{self.region}_{self.name}".replace("-", "_")

    @property
    def log_path(self) -> Path:
        return self.datadir.parent / f"{self.name}.log"

    async def initdb(self) -> None:
        (await run([bin_path("initdb"), "-D", str(self.datadir), "-U", SERVER_USER,
                    "--auth=trust", "-N", "-E", "UTF8", "--locale=C"], 120)
         ).check(f"initdb of node {self.name} in {self.datadir}")
        self.configure()

    def configure(self) -> None:
        """covenant.conf included from postgresql.conf; loopback trust in pg_hba.conf."""
        write_server_file(self.datadir / "covenant.conf", NODE_CONF)
        main = self.datadir / "postgresql.conf"
        text = main.read_text()
        if "include_if_exists = 'covenant.conf'" not in text:
            write_server_file(main, text + "\ninclude_if_exists = 'covenant.conf'\n")
        hba = self.datadir / "pg_hba.conf"
        if HBA_LINES not in hba.read_text():
            write_server_file(hba, HBA_LINES + hba.read_text())

    async def start(self, timeout: float = 60.0) -> None:
        log_file = self.log_path
        if not log_file.exists():
            write_server_file(log_file, "")
        (await run([bin_path("pg_ctl"), "-D", str(self.datadir), "-o", f"-p {self.port}",
                    "-l", str(log_file), "-w", "-t", f"{int(timeout)}", "start"], timeout + 5)
         ).check(f"starting node {self.name} on port {self.port} (log {log_file})")

    def postmaster_alive(self) -> bool:
        """Whether the postmaster named in postmaster.pid is a live process (a killed one
        may linger as a zombie until its parent reaps it: that counts as dead)."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError, IndexError):
            return False
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")

    async def stop(self, mode: str = "fast", timeout: float = 30.0) -> bool:
        """Stop it; False when it was not running."""
        if not self.postmaster_alive():
            return False
        ran = await run([bin_path("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w",
                         "-t", f"{int(timeout)}", "stop"], timeout + 5)
        if ran.returncode != 0 and not self.postmaster_alive():
            return False  # it died on its own meanwhile
        ran.check(f"stopping node {self.name} ({mode})")
        return True

    async def running(self) -> bool:
        ran = await run([bin_path("pg_ctl"), "-D", str(self.datadir), "status"], 10)
        return ran.returncode == 0

    def write_standby_config(self, primary: PgNode) -> None:
        """standby.signal, and primary_conninfo / primary_slot_name pointing at ``primary``
        in postgresql.auto.conf (replacing whatever a copy from the primary brought)."""
        auto = self.datadir / "postgresql.auto.conf"
        kept = [line for line in (auto.read_text().splitlines() if auto.exists() else [])
                if not line.startswith(("primary_conninfo", "primary_slot_name",
                                        "synchronous_standby_names"))]
        info = conninfo(primary.port, application_name=self.app_name).replace(
            " connect_timeout=2", "")
        kept += [f"primary_conninfo = '{info}'", f"primary_slot_name = '{self.app_name}'"]
        write_server_file(auto, "\n".join(kept) + "\n")
        write_server_file(self.datadir / "standby.signal", "")

    def write_fence(self) -> None:
        """standby.signal alone: restarted by anyone, this node comes up read-only."""
        if self.datadir.is_dir():
            write_server_file(self.datadir / "standby.signal", "")
