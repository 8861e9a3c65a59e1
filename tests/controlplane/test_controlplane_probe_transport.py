"""The lean probe transport on real sockets: answers, refusals, resets, timeouts, chunks."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from controlplane.fakes import FakeRegion
from controlplane.probe_transport import ProbeTransport, _dechunk
from controlplane.servers import start_server


async def test_reads_status_headers_and_body() -> None:
    fake = FakeRegion("ams")
    server = await start_server(fake.app())
    try:
        async with httpx.AsyncClient(transport=ProbeTransport()) as client:
            ok = await client.get(server.url + "/live?x=1", timeout=2)
            fake.mode = "error"
            bad = await client.get(server.url + "/ready", timeout=2)
    finally:
        await server.stop()
    assert ok.status_code == 200 and ok.json() == {"region": "ams", "path": "/live"}
    assert ok.headers["content-type"] == "application/json"
    assert bad.status_code == 500


async def test_refused_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        async with httpx.AsyncClient(transport=ProbeTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/live", timeout=1)


async def _serve(handler: object) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[1]


async def test_silent_server_times_out_and_garbage_is_a_protocol_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)
        writer.close()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"nonsense")
        writer.close()

    for handler, error in ((silent, httpx.ReadTimeout), (garbage, httpx.RemoteProtocolError)):
        server, port = await _serve(handler)
        try:
            async with httpx.AsyncClient(transport=ProbeTransport()) as client:
                with pytest.raises(error):
                    await client.get(f"http://127.0.0.1:{port}/live", timeout=0.2)
        finally:
            server.close()
            await server.wait_closed()


def test_dechunk() -> None:
    assert _dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n") == b"abcde"
