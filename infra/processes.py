"""Prometheus and Alertmanager as child processes beside the stack: each with its own data
directory and log, ready once ``/-/ready`` answers, stopped with SIGTERM (then SIGKILL)."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra import tools
from infra.errors import InfraError
from kernel.ready import poll_ready

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


@dataclass
class Child:
    name: str
    url: str
    process: asyncio.subprocess.Process
    log_path: Path


def port_or_free(host: str, port: int) -> int:
    """``port``, or a free one when it is 0 (tests)."""
    if port:
        return port
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def _spawn(name: str, args: list[str], url: str, log_path: Path) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        process = await asyncio.create_subprocess_exec(*args, stdout=out, stderr=out,
                                                       start_new_session=True)
    child = Child(name, url, process, log_path)
    try:
        await _wait_ready(child)
    except BaseException:
        await stop(child)
        raise
    log.info("%s ready at %s (pid %d)", name, url, process.pid)
    return child


async def _wait_ready(child: Child) -> None:
    async with httpx.AsyncClient(timeout=1) as client:
        problem = await poll_ready(client, f"{child.url}/-/ready", child.process,
                                   READY_TIMEOUT_S, 0.1)
    if problem:
        raise InfraError(f"{child.name} {problem}; see {child.log_path}")


async def start_prometheus(config: Path, data_dir: Path, host: str, port: int) -> Child:
    port = port_or_free(host, port)
    args = [tools.prometheus(), f"--config.file={config}",
            f"--storage.tsdb.path={data_dir / 'data'}",
            f"--web.listen-address={host}:{port}"]
    return await _spawn("Prometheus", args, f"http://{host}:{port}", data_dir / "log")


async def start_alertmanager(config: Path, data_dir: Path, host: str, port: int) -> Child:
    port = port_or_free(host, port)
    args = [tools.alertmanager(), f"--config.file={config}",
            f"--storage.path={data_dir / 'data'}", f"--web.listen-address={host}:{port}",
            "--cluster.listen-address="]  # one instance: no gossip port
    return await _spawn("Alertmanager", args, f"http://{host}:{port}", data_dir / "log")


async def stop(child: Child) -> None:
    if child.process.returncode is None:
        child.process.terminate()
    try:
        await asyncio.wait_for(child.process.wait(), timeout=STOP_TIMEOUT_S)
    except TimeoutError:
        child.process.kill()
        await child.process.wait()
