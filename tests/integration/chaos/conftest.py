"""Fixtures for the chaos integration tests: an embedded server and an echo upstream, both on
ephemeral loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from chaos.loopback import server_port, start_echo_server
from chaos.server import ToxiproxyServer


@pytest.fixture()
async def toxiproxy() -> AsyncIterator[ToxiproxyServer]:
    server = ToxiproxyServer(port=0)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture()
async def api(toxiproxy: ToxiproxyServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=toxiproxy.url, timeout=10) as client:
        yield client


@pytest.fixture()
async def echo_port() -> AsyncIterator[int]:
    server = await start_echo_server()
    yield server_port(server)
    server.close()


@pytest.fixture()
async def echo_proxy(toxiproxy: ToxiproxyServer, echo_port: int) -> int:
    """A proxy named ``echo`` in front of the echo server; returns its listen port."""
    proxy = await toxiproxy.create_proxy("echo", f"127.0.0.1:{echo_port}")
    return proxy.listen_port

