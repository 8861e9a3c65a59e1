"""The real stack (``covenant up``'s ``Stack`` in this process, every port ephemeral) for
the front door's end-to-end tests, and what they share: a country per region, a client of
the front door, the fault injector, and waiting for a region to be routed away or back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chaos.faults import Injector
from controlplane.desired import HealthPolicy, StackPorts, default_desired
from covenant.stack import Stack
from kernel.settings import Settings
from tests.waiting import eventually

PORTS = StackPorts(control_plane=0, front_door=0, region_api_base=0, proxy_base=0, toxiproxy=0)
# A country homed in each region (core_api/data): the writes' bodies name these.
COUNTRY = {"ams": "NLD", "iad": "USA", "syd": "AUS", "sin": "SGP", "sfo": "MEX", "jnb": "ZAF"}


@dataclass
class Running:
    stack: Stack
    door: httpx.AsyncClient    # the front door: the only way the tests reach the data
    faults: Injector

    def routed_away(self, region: str) -> bool:
        plane = self.stack.plane
        assert plane is not None
        return plane.router.current is not None and plane.router.current.target(region) != region

    async def wait_away(self, region: str) -> None:
        await eventually(lambda: self.routed_away(region), f"{region} routed away", 15,
                         interval=0.05)

    async def wait_home(self, region: str) -> None:
        await eventually(lambda: not self.routed_away(region), f"{region} routed home", 30,
                         interval=0.05)


# Probes slower than 2 s (not 0.4 s) make a region bad: on a shared two-core machine a busy
# moment must not drain a healthy region in the middle of a test; a region taken down is
# still seen in two cycles (its probes are refused or reset).
TOLERANT = HealthPolicy(slow_latency_s=2.0)


@pytest.fixture()
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with start(tmp_path, health=TOLERANT) as started:
        yield started


@contextlib.asynccontextmanager
async def start(tmp_path: Path, **policies: Any) -> AsyncIterator[Running]:
    stack = Stack(default_desired(PORTS, **policies), Settings(data_dir=tmp_path / "data"))
    await stack.start()
    assert stack.toxiproxy is not None
    origins = {r.region: f"http://{PORTS.host}:{r.port}" for r in stack.regions}
    try:
        async with httpx.AsyncClient(base_url=stack.front_door_url, timeout=15) as door, \
                httpx.AsyncClient(timeout=10) as http:
            yield Running(stack, door, Injector(stack.toxiproxy, http, origins))
    finally:
        await stack.stop()


def project(region: str, name: str) -> dict[str, Any]:
    return {"name": name, "country": COUNTRY[region], "sector": "energy",
            "budget_usd": 1_000_000}


async def retry_until_served(send: Any, what: str, timeout: float = 40.0) -> httpx.Response:
    """What a well-behaved client does with a 503: wait as ``Retry-After`` says (capped, so
    the test stays short) and send the same request again."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r: httpx.Response = await send()
        if r.status_code != 503:
            return r
        assert asyncio.get_running_loop().time() < deadline, f"{what}: still 503: {r.text}"
        await asyncio.sleep(min(float(r.headers["retry-after"]), 0.2))
