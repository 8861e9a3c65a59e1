"""Helpers for the database-pair tests: a directory the postgres user can reach, free
ports, a pair on them, the region API process on its endpoint, and a client writing
through that API that logs every acknowledged write."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from controlplane.dbfailover.chaos_kill import kill_server
from controlplane.dbfailover.pairstate import load_state, node
from tests.waiting import eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_postmaster(directory: Path, name: str) -> int:
    """kill -9 a node: its postmaster and every backend, walsender and helper it started."""
    return kill_server(directory / name)


async def stop_all(directory: Path) -> None:
    """Stop every node of the pair in ``directory`` (immediate), whatever its role."""
    with contextlib.suppress(Exception):
        state = load_state(directory)
        for name in state.nodes:
            with contextlib.suppress(Exception):
                await node(directory, state, name).stop("immediate", timeout=10)


@dataclass
class RegionApi:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


async def start_api(region: str, database_url: str, data_dir: Path) -> RegionApi:
    port = free_port()
    env = {**os.environ, "COVENANT_DATABASE_URL": database_url,
           "COVENANT_DATA_DIR": str(data_dir)}
    for name in ("COVENANT_NATS_URL", "COVENANT_REDIS_URL", "COVENANT_STATE_URL"):
        env.pop(name, None)
    log = data_dir / f"api-{region}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "core_api", "api", "--region", region, "--port", str(port),
             "--prepare"], env=env, stdout=out, stderr=out, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        assert process.poll() is None, f"region API exited; see {log}"
        async with httpx.AsyncClient(timeout=2) as client:
            try:
                return (await client.get(f"{url}/ready")).is_success
            except httpx.HTTPError:
                return False
    await eventually(ready, "the region API to be ready on its pair", 120, 0.2)
    return RegionApi(process, url, log)


def stop_api(api: RegionApi) -> None:
    api.process.terminate()
    try:
        api.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        api.process.kill()
        api.process.wait()


@dataclass
class WriteLog:
    """Every write the API acknowledged (201), with when; and every failure."""

    acked: list[tuple[float, str]] = field(default_factory=list)
    failed: int = 0

    def acked_after(self, t: float) -> int:
        return sum(1 for at, _ in self.acked if at > t)

    def gap_around(self, t: float) -> float:
        """The longest stretch without an acknowledged write from the last one before ``t``
        on (the RTO; a write answered just before ``t`` may be logged just after it)."""
        times = [at for at, _ in self.acked]
        start = max(i for i, at in enumerate(times) if at <= t)
        return max(b - a for a, b in zip(times[start:], times[start + 1:], strict=False))


async def write_continuously(url: str, log: WriteLog, stop: asyncio.Event,
                             prefix: str) -> None:
    """POST /v1/projects one after another until ``stop`` (a 2 s timeout each)."""
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as client:
        i = 0
        while not stop.is_set():
            i += 1
            name = f"{prefix}-{i}"
            body = {"name": name, "country": "NLD", "sector": "energy", "budget_usd": i}
            try:
                response = await client.post("/v1/projects", json=body)
            except httpx.HTTPError:
                log.failed += 1
                await asyncio.sleep(0.02)
                continue
            if response.status_code == 201:
                log.acked.append((time.monotonic(), name))
            else:
                log.failed += 1
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def writing(url: str, prefix: str) -> AsyncIterator[WriteLog]:
    log, stop = WriteLog(), asyncio.Event()
    task = asyncio.create_task(write_continuously(url, log, stop, prefix))
    try:
        yield log
    finally:
        stop.set()
        await task


async def kill_primary_under_writes(url: str, directory: Path, prefix: str,
                                    promoted_by: str) -> tuple[WriteLog, float]:
    """Write through ``url``, kill -9 node a's postmaster once 30 writes are acknowledged,
    wait for b to be promoted (by ``promoted_by``) and for 20 writes acknowledged after the
    kill: (the write log, the RTO — the longest stretch without an acknowledged write)."""
    async with writing(url, prefix) as log:
        await eventually(lambda: len(log.acked) >= 30, "30 acknowledged writes", 60)
        kill_postmaster(directory, "a")
        killed_at = time.monotonic()
        await eventually(lambda: load_state(directory).primary == "b",
                         f"{promoted_by} to promote b", 30, 0.05)
        await eventually(lambda: log.acked_after(killed_at) >= 20,
                         "writes acknowledged again through the same API", 30)
    return log, log.gap_around(killed_at)
