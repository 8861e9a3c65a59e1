"""The front door: an HTTP/1.1 reverse proxy routing each request to the region that owns
its data, in a process of its own (``python -m controlplane.frontdoor --config FILE``),
off the control plane's event loop.

It stands in for what production does with DNS geo-routing (the ``Route53Router``) or an
edge proxy; both sit behind the same ``Router`` seam, through which the reconciler hands
them its route table. The relay is lean — uvloop, httptools for the framing, pooled
keep-alive connections to the regions, bytes streamed through — see ``frontdoor_client``;
the decisions are pure (``frontdoor_routing``); the control plane pushes routes to the
loopback admin listener (``frontdoor_admin``, ``frontdoor_router``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from opentelemetry.trace import Tracer

from controlplane.frontdoor_admin import AdminConnection, pull_routes
from controlplane.frontdoor_client import ClientConnection
from controlplane.frontdoor_config import FrontDoorConfig, host_port
from controlplane.frontdoor_state import Door
from controlplane.frontdoor_tracing import SERVICE_NAME, RelayTracer
from controlplane.frontdoor_upstream import Pool
from kernel.files import atomic_write
from kernel.heap import settle_heap
from kernel.tracing import build_tracer_provider, traces_endpoint

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 0.5
BACKLOG = 1024


class FrontDoor:
    """One front door: the public listener, the admin listener and the shared state;
    ``tracer``: a span per routed request (None: tracing off)."""

    def __init__(self, config: FrontDoorConfig, tracer: Tracer | None = None) -> None:
        self.config = config
        pool = Pool({r: host_port(url) for r, url in config.endpoints.items()},
                    connect_timeout_s=config.connect_timeout_s, idle_s=config.idle_upstream_s,
                    response_timeout_s=config.response_timeout_s)
        self.door = Door(config.topology(), pool, retry_after_s=config.retry_after_s,
                         max_body_bytes=config.max_body_bytes,
                         client_idle_s=config.client_idle_s,
                         tracing=RelayTracer(tracer) if tracer is not None else None)
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.Task[None] | None = None
        self.port = 0
        self.admin_port = 0

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        door = self.door
        public = await loop.create_server(lambda: ClientConnection(door), self.config.host,
                                          self.config.port, backlog=BACKLOG)
        admin = await loop.create_server(lambda: AdminConnection(door), "127.0.0.1",
                                         self.config.admin_port)
        self._servers = [public, admin]
        self.port = public.sockets[0].getsockname()[1]
        self.admin_port = admin.sockets[0].getsockname()[1]
        self._sweeper = loop.create_task(self._sweep())
        if self.config.control_plane:
            door.spawn(pull_routes(door, self.config.control_plane))
        log.info("front door on %s (admin %s), regions %s", self.url, self.admin_url,
                 ", ".join(self.config.endpoints))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            now = time.monotonic()
            self.door.pool.sweep(now)
            for client in list(self.door.clients):
                client.close_if_idle(now, self.door.client_idle_s)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for task in list(self.door.tasks):
            task.cancel()
        self.door.pool.close()
        for server in self._servers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await server.wait_closed()
        self._servers.clear()

    def ready(self) -> dict[str, int]:
        return {"pid": os.getpid(), "port": self.port, "admin_port": self.admin_port}


async def serve(config: FrontDoorConfig) -> None:
    """Run until SIGTERM or SIGINT; write ``config.ready_file`` once listening. Spans are
    exported when ``config.otlp_endpoint`` (or ``OTEL_EXPORTER_OTLP_*``) says where."""
    endpoint = config.otlp_endpoint or traces_endpoint(None)
    provider = build_tracer_provider(SERVICE_NAME, endpoint=endpoint) if endpoint else None
    door = FrontDoor(config, provider.get_tracer(__name__) if provider else None)
    await door.start()
    settle_heap()  # start-up's objects live as long as the process: out of the GC's way
    if endpoint:
        log.info("a span per routed request, exported to %s", endpoint)
    if config.ready_file:
        atomic_write(Path(config.ready_file), json.dumps(door.ready()))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await door.stop()
        if provider is not None:  # the spans still batched are sent before exiting
            await asyncio.to_thread(provider.shutdown)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m controlplane.frontdoor",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, type=Path,
                        help="the JSON file covenant up writes (<data_dir>/frontdoor.json)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = FrontDoorConfig.load(args.config)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(config))
    else:
        uvloop.run(serve(config))


if __name__ == "__main__":
    main()
