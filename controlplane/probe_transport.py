"""A lean HTTP/1.1 transport for probes: one short-lived connection per request.

httpx's default transport (httpcore + h11 + connection pooling) costs about 1.5 ms of CPU
per request here; 24 probe requests per cycle made it most of a reconcile pass. This
transport keeps the httpx seam (tests inject MockTransport) and does only what a probe
needs: GET, ``Connection: close``, read to EOF, parse the status line and headers. It is a
bare asyncio protocol under ``asyncio.timeout`` (streams and ``wait_for`` cost a task and
a reader per request). Timeouts come from the request's ``timeout`` extension, like
httpx's own transports.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httpx


class _Exchange(asyncio.Protocol):
    """Writes the request once connected; collects the reply until the server closes."""

    def __init__(self, head: bytes, done: asyncio.Future[bytes]) -> None:
        self._head = head
        self._done = done
        self._chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.WriteTransport, transport).write(self._head)

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost completes the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done.done():
            return
        if exc is None:
            self._done.set_result(b"".join(self._chunks))
        else:
            self._done.set_exception(exc)


class ProbeTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        connect_timeout = timeouts.get("connect") or 5.0
        read_timeout = timeouts.get("read") or 5.0
        host, port = request.url.host, request.url.port or 80
        target = request.url.raw_path.decode("ascii")
        head = f"{request.method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n" \
               "Connection: close\r\nAccept: */*\r\n\r\n"
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bytes] = loop.create_future()
        try:
            async with asyncio.timeout(connect_timeout):
                transport, _ = await loop.create_connection(
                    lambda: _Exchange(head.encode("ascii"), done), host, port)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {host}:{port} timed out",
                                       request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"connect to {host}:{port}: {exc}", request=request) from exc
        try:
            async with asyncio.timeout(read_timeout):
                raw = await done
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"{host}:{port} did not answer in time",
                                    request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(f"{host}:{port}: {exc}", request=request) from exc
        finally:
            if done.done():
                transport.close()
            else:
                transport.abort()  # timed out: nothing more to read from it
        return _parse(raw, request)


def _parse(raw: bytes, request: httpx.Request) -> httpx.Response:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError("not an HTTP response (closed early or garbled)",
                                        request=request)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    if any(n.lower() == b"transfer-encoding" and b"chunked" in v.lower() for n, v in headers):
        body = _dechunk(body)
        headers = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]
    return httpx.Response(int(parts[1]), headers=headers, content=body, request=request)


def _dechunk(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)
