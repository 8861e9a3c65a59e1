"""Run an ASGI app on uvicorn inside the current event loop and learn its bound port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from controlplane.errors import ControlPlaneError


class _QuietServer(uvicorn.Server):
    """Leaves signals to the caller: several servers share one process and one loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, timeout=10)


async def start_server(app: ASGIApp, host: str = "127.0.0.1", port: int = 0,
                       timeout_s: float = 15.0, *, proxy: bool = False) -> RunningServer:
    """Start ``app`` on ``host:port`` (0: an ephemeral port) and wait until it listens.

    A ``proxy`` passes the upstream's own Date and Server headers through, so uvicorn must
    not add a second pair.
    """
    config = uvicorn.Config(app, host=host, port=port, log_level=logging.WARNING,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=2,
                            server_header=not proxy, date_header=not proxy)
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not server.started:
        if task.done():
            exc = task.exception()
            raise ControlPlaneError(f"server on {host}:{port} did not start ({exc}); is the "
                                    "port free?") from exc
        if asyncio.get_running_loop().time() > deadline:
            server.should_exit = True
            raise ControlPlaneError(f"server on {host}:{port} not listening after {timeout_s} s")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(server, task, host, int(bound))
