"""Scriptable HTTP/1.1 origins on real sockets, for the front door's relay tests: each
request goes to a handler that returns the raw response bytes to write, or ``RESET`` to
drop the connection after reading the request (what a crash after commit looks like)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import httptools

RESET = b""


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Seen], Awaitable[bytes]]


def response(status: int, body: bytes = b"{}", headers: str = "",
             content_type: str = "application/json") -> bytes:
    return (f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n{headers}"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


def chunked(status: int, parts: list[bytes]) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
    return (f"HTTP/1.1 {status} X\r\ntransfer-encoding: chunked\r\n\r\n").encode() + chunks + \
        b"0\r\n\r\n"


class _Conn(asyncio.Protocol):
    def __init__(self, origin: RawOrigin) -> None:
        self.origin = origin
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.origin.connections += 1

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, b""

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        seen = Seen(self.parser.get_method().decode(), self._url.decode(), self._headers,
                    self._body)
        self.origin.seen.append(seen)
        asyncio.get_running_loop().create_task(self._answer(seen))

    async def _answer(self, seen: Seen) -> None:
        raw = await self.origin.handler(seen)
        if self.transport is None:
            return
        if raw == RESET:
            self.transport.abort()
        else:
            self.transport.write(raw)


@dataclass
class RawOrigin:
    handler: Handler
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", 0)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self.server.wait_closed()


@contextlib.asynccontextmanager
async def origins(handlers: dict[str, Handler]) -> AsyncIterator[dict[str, RawOrigin]]:
    started = {name: RawOrigin(h) for name, h in handlers.items()}
    try:
        for origin in started.values():
            await origin.start()
        yield started
    finally:
        for origin in started.values():
            await origin.stop()
