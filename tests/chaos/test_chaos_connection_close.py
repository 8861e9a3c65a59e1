"""A proxy stopped between accepting a client and the client's ``connection_made`` (the
fault proxy disabled while a pool reconnects through it) closes that client's socket: it is
neither dialled upstream nor left open, paused, for the garbage collector to find."""

from __future__ import annotations

import asyncio
import random

from chaos.proxy import Proxy
from kernel.clock import SYSTEM_CLOCK


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.paused = False

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def is_closing(self) -> bool:
        return self.closed


async def test_a_client_accepted_as_its_proxy_stops_is_closed_not_dialled() -> None:
    proxy = Proxy("db", "127.0.0.1:0", "127.0.0.1:9", SYSTEM_CLOCK, random.Random(1))
    side = proxy._accept()  # what asyncio's server calls first, before connection_made
    [conn] = proxy.connections
    proxy.stop()
    transport = Transport()
    side.connection_made(transport)
    assert transport.closed and not transport.paused
    assert conn.closed and not proxy.connections
    assert not asyncio.all_tasks() - {asyncio.current_task()}  # no dial was started
