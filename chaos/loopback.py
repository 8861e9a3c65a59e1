"""Loopback helpers shared by the benchmark and the tests: an echo server and timed clients."""

from __future__ import annotations

import asyncio
import time
from typing import cast


class _Echo(asyncio.Protocol):
    """Echoes everything; stops reading while the peer is not draining (flow control)."""

    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # close once the reply is flushed


async def start_echo_server(host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(_Echo, host, port, backlog=4096)


def server_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def round_trip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> float:
    """Send ``payload`` to an echo peer and wait for it back; seconds elapsed."""
    started = time.perf_counter()
    writer.write(payload)
    await writer.drain()
    await reader.readexactly(len(payload))
    return time.perf_counter() - started


async def transfer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> float:
    """Push ``payload`` through an echo peer while reading it back concurrently; seconds."""
    started = time.perf_counter()

    async def send() -> None:
        writer.write(payload)
        await writer.drain()

    sender = asyncio.ensure_future(send())
    await reader.readexactly(len(payload))
    await sender
    return time.perf_counter() - started
