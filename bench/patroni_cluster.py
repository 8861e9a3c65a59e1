"""A real two-node Patroni cluster with a one-node etcd on loopback, for the db-failover
baseline and the ``patroni`` backend's tests.

PostgreSQL refuses root, so when we are root Patroni runs as ``postgres`` too; that user
cannot execute this venv's interpreter when it lives under /root, so Patroni runs on the
system ``python3`` of the same version with this venv's site-packages on its path.
Missing pieces fail loudly, naming the package: etcd (Debian ``etcd-server``), Patroni
(PyPI ``patroni[etcd3]``, the test extras), PostgreSQL's binaries (``postgresql-15``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from controlplane.dbfailover.chaos_kill import kill_server
from controlplane.dbfailover.errors import DbFailoverError
from controlplane.dbfailover.postgres import as_server_user, bin_path, give_to_server_user

SCOPE = "covbench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def patroni_command() -> list[str]:
    """``python -m patroni`` with an interpreter the server user can run."""
    try:
        import patroni  # noqa: F401
    except ImportError as exc:
        raise DbFailoverError("Patroni is not installed: pip install -e '.[test]' (it brings "
                              "patroni[etcd3] and psycopg2-binary)") from exc
    if os.geteuid() != 0:
        return [sys.executable, "-m", "patroni"]
    probe = subprocess.run(as_server_user([sys.executable, "-c", "pass"]), check=False,
                           capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "patroni"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        raise DbFailoverError(f"the postgres user cannot run {sys.executable} and there is no "
                              f"/usr/bin/{version}: install Debian's {version}")
    # -S: not Debian's dist-packages (its pyOpenSSL breaks against this venv's cryptography)
    command = ["env", f"PYTHONPATH={':'.join(site.getsitepackages())}", system, "-S", "-m",
               "patroni"]
    probe = subprocess.run(as_server_user([*command, "--version"]), check=False,
                           capture_output=True)
    if probe.returncode != 0:  # else Patroni would die at once and we would wait for a leader
        raise DbFailoverError(
            f"the postgres user cannot import Patroni from {sys.prefix}: "
            f"{_unsearchable(Path(sys.prefix))} is not searchable by others; `chmod o+x` it, "
            "or install the project where the postgres user can read it")
    return command


def _unsearchable(path: Path) -> Path:
    """The first directory on ``path`` that others may not enter (where it stops)."""
    for parent in reversed((path, *path.parents)):
        if parent.is_dir() and not parent.stat().st_mode & 0o001:
            return parent
    return path


@dataclass
class Member:
    name: str
    port: int
    rest_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"


@dataclass
class PatroniCluster:
    root: Path
    ttl: int = 30
    loop_wait: int = 10
    retry_timeout: int = 10
    members: dict[str, Member] = field(default_factory=dict)
    etcd: subprocess.Popen[bytes] | None = None
    etcd_port: int = 0

    def dsn(self, dbname: str = "postgres") -> str:
        hosts = ",".join("127.0.0.1" for _ in self.members)
        ports = ",".join(str(m.port) for m in self.members.values())
        return (f"host={hosts} port={ports} user=postgres dbname={dbname} "
                "target_session_attrs=read-write connect_timeout=2")

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(m.api for m in self.members.values())

    async def start(self) -> None:
        etcd = shutil.which("etcd")
        if etcd is None:
            raise DbFailoverError("etcd not found: install Debian's etcd-server (or run "
                                  "scripts/ensure-tools.sh)")
        bin_path("pg_ctl")
        self.root.mkdir(parents=True, exist_ok=True)
        self._start_etcd(etcd)
        for i in (1, 2):
            name = f"n{i}"
            member = Member(name, free_port(), free_port(), self.root / name)
            member.directory.mkdir(mode=0o700)
            give_to_server_user(member.directory)
            self.members[name] = member
            self._write_config(member)
        self.launch("n1")
        await self.wait_leader(timeout=120)
        self.launch("n2")
        await self.wait_healthy(timeout=180)

    def _start_etcd(self, etcd: str) -> None:
        self.etcd_port, peer = free_port(), free_port()
        data = self.root / "etcd"
        with open(self.root / "etcd.log", "ab") as log:  # the child keeps its own copy
            self.etcd = self._etcd(etcd, data, peer, log)

    def _etcd(self, etcd: str, data: Path, peer: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [etcd, "--name", "e1", "--data-dir", str(data),
             "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"e1=http://127.0.0.1:{peer}"],
            stdout=log, stderr=log, start_new_session=True)

    def _write_config(self, m: Member) -> None:
        auth = {"username": "postgres"}
        config: dict[str, Any] = {
            "scope": SCOPE, "namespace": "/covenant/", "name": m.name,
            "log": {"level": "INFO", "dir": str(m.directory)},
            "restapi": {"listen": f"127.0.0.1:{m.rest_port}",
                        "connect_address": f"127.0.0.1:{m.rest_port}"},
            "etcd3": {"hosts": f"127.0.0.1:{self.etcd_port}"},
            "bootstrap": {
                "dcs": {"ttl": self.ttl, "loop_wait": self.loop_wait,
                        "retry_timeout": self.retry_timeout, "synchronous_mode": True,
                        "postgresql": {"use_pg_rewind": True, "parameters": {
                            "wal_log_hints": "on", "wal_keep_size": "256MB",
                            "synchronous_commit": "on", "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            # the same promotion tuning as Covenant's nodes get
                            "wal_retrieve_retry_interval": "100ms"}}},
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
                "pg_hba": ["host all all 127.0.0.1/32 trust",
                           "host replication all 127.0.0.1/32 trust"]},
            "postgresql": {
                "listen": f"127.0.0.1:{m.port}", "connect_address": f"127.0.0.1:{m.port}",
                "data_dir": str(m.directory / "data"), "bin_dir": str(Path(bin_path("pg_ctl"))
                                                                      .parent),
                "pgpass": str(m.directory / "pgpass"),
                "authentication": {"superuser": auth, "replication": auth, "rewind": auth},
                "parameters": {"unix_socket_directories": str(m.directory),
                               "shared_buffers": "32MB", "max_connections": 60}},
        }
        path = m.directory / "patroni.yml"
        path.write_text(yaml.safe_dump(config))
        give_to_server_user(path)

    def launch(self, name: str) -> None:
        m = self.members[name]
        with open(m.directory / "patroni.out", "ab") as log:  # the child keeps its own copy
            m.process = subprocess.Popen(
                as_server_user([*patroni_command(), str(m.directory / "patroni.yml")]),
                stdout=log, stderr=log, start_new_session=True, cwd=str(m.directory))

    async def cluster(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=1.0) as client:
            for m in self.members.values():
                try:
                    response = await client.get(f"{m.api}/cluster")
                    if response.is_success:
                        data = response.json()
                        if isinstance(data, dict):
                            return data
                except httpx.HTTPError:
                    continue
        return {"members": []}

    async def leader(self) -> str | None:
        members = (await self.cluster()).get("members", [])
        return next((str(m["name"]) for m in members
                     if m.get("role") in ("leader", "master", "primary")
                     and m.get("state") == "running"), None)

    async def wait_leader(self, timeout: float, other_than: str | None = None) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            leader = await self.leader()
            if leader and leader != other_than:
                return leader
            await asyncio.sleep(0.05)
        raise DbFailoverError(f"no Patroni leader after {timeout:g} s; see {self.root}/n*/")

    async def wait_healthy(self, timeout: float) -> None:
        """A running leader and a streaming synchronous standby."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            members = (await self.cluster()).get("members", [])
            if any(m.get("role") == "sync_standby" and m.get("state") == "streaming"
                   for m in members) and await self.leader():
                return
            await asyncio.sleep(0.2)
        raise DbFailoverError(f"Patroni cluster not healthy after {timeout:g} s: "
                              f"{(await self.cluster()).get('members')}; see {self.root}/n*/")

    def _check_alive(self) -> None:
        if self.etcd is not None and self.etcd.poll() is not None:
            raise DbFailoverError(f"etcd exited ({self.etcd.returncode}); see "
                                  f"{self.root}/etcd.log")
        for m in self.members.values():  # a Patroni that died never elects a leader
            if m.process is not None and m.process.poll() is not None:
                out = m.directory / "patroni.out"
                tail = out.read_text(errors="replace").strip().splitlines()[-3:] \
                    if out.exists() else []
                raise DbFailoverError(f"Patroni {m.name} exited ({m.process.returncode}): "
                                      f"{' | '.join(tail) or 'no output'}; see {out}")

    def kill(self, name: str) -> None:
        """The node dies: kill -9 its Patroni and its postmaster."""
        m = self.members[name]
        if m.process is not None:
            os.killpg(m.process.pid, signal.SIGKILL)
            m.process.wait()
            m.process = None
        with contextlib.suppress(OSError, ValueError, IndexError):
            kill_server(m.directory / "data")  # postmaster and backends at once

    def port_of(self, name: str) -> int:
        return self.members[name].port

    async def stop(self) -> None:
        for m in self.members.values():
            if m.process is not None:
                m.process.terminate()
        for m in self.members.values():
            if m.process is not None:
                try:
                    m.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(m.process.pid, signal.SIGKILL)
                    m.process.wait()
            _immediate_stop(m.directory / "data")
        if self.etcd is not None:
            self.etcd.terminate()
            self.etcd.wait(timeout=10)


def _immediate_stop(datadir: Path) -> None:
    if (datadir / "postmaster.pid").exists():
        subprocess.run(as_server_user([bin_path("pg_ctl"), "-D", str(datadir), "-m",
                                       "immediate", "stop"]), check=False, capture_output=True)
