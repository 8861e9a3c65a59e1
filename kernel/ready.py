"""Waiting for a child process's readiness endpoint (region APIs, Prometheus, Alertmanager)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

import httpx


class Running(Protocol):
    @property
    def returncode(self) -> int | None: ...


async def poll_ready(client: httpx.AsyncClient, url: str, process: Running, timeout: float,
                     interval: float) -> str:
    """Poll ``url`` until it answers 2xx: "" then, else why not ("exited with N" as soon as
    the process has, or "not ready after T s"); the caller names the child and its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.returncode is not None:
            return f"exited with {process.returncode}"
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(url)).is_success:
                return ""
        await asyncio.sleep(interval)
    return f"not ready after {timeout:.0f} s"
