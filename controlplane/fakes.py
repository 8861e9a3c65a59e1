"""An in-repo fake region: the probe endpoints, RED counters and a fault switch.

Used by unit tests and as a stand-in where the real core API is not needed. ``mode`` is
``ok``, ``error`` (every route answers 500), ``api_errors`` (500 except the probe
endpoints) or ``slow`` (every route waits ``delay_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from controlplane.desired import REGION_ORDER, DesiredState, default_desired
from controlplane.servers import RunningServer, start_server


class FakeRegion:
    def __init__(self, name: str) -> None:
        self.name = name
        self.mode = "ok"
        self.delay_s = 0.5
        self.counts: Counter[tuple[str, int]] = Counter()

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/metrics", self._metrics),
            Route("/{path:path}", self._any, methods=["GET", "POST", "PUT", "DELETE"]),
        ])

    async def _metrics(self, request: Request) -> Response:
        lines = ["# TYPE http_requests_total counter"]
        for (route, status), n in sorted(self.counts.items()):
            lines.append(f'http_requests_total{{region="{self.name}",route="{route}",'
                         f'method="GET",status="{status}"}} {n}')
        return PlainTextResponse("\n".join(lines) + "\n")

    async def _any(self, request: Request) -> Response:
        if self.mode == "slow":
            await asyncio.sleep(self.delay_s)
        probe = request.url.path in ("/live", "/ready", "/health")
        failing = self.mode == "error" or (self.mode == "api_errors" and not probe)
        status = 500 if failing else 200
        self.counts[(request.url.path, status)] += 1
        return JSONResponse({"region": self.name, "path": request.url.path}, status_code=status)


@contextlib.asynccontextmanager
async def fake_regions(host: str = "127.0.0.1", **policies: Any
                       ) -> AsyncIterator[tuple[DesiredState, dict[str, FakeRegion],
                                                dict[str, RunningServer]]]:
    """Six fake regions on ephemeral ports and a desired state pointing at them."""
    fakes = {name: FakeRegion(name) for name in REGION_ORDER}
    servers: dict[str, RunningServer] = {}
    try:
        for name, fake in fakes.items():
            servers[name] = await start_server(fake.app(), host, 0)
        desired = default_desired(**policies)
        regions = tuple(r.model_copy(update={"endpoint": servers[r.name].url,
                                             "origin": servers[r.name].url})
                        for r in desired.regions)
        yield desired.model_copy(update={"regions": regions}), fakes, servers
    finally:
        for server in servers.values():
            await server.stop()
