"""A minimal HTTP/1.1 server (h11 for the framing, keep-alive included) for the Toxiproxy API.

A hand-made server rather than a framework so that every byte the spec fixes — the 404 text,
the empty 405, the error content type — comes out exactly, with little per-request overhead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import h11

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]


class HttpConnection:
    """Serves the requests of one keep-alive connection, one at a time."""

    def __init__(
        self, handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._handler = handler
        self._reader = reader
        self._writer = writer
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY)

    async def serve(self) -> None:
        try:
            while await self._serve_one():
                self._conn.start_next_cycle()
        except h11.RemoteProtocolError as exc:
            await self._reject(exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writer.close()

    async def _serve_one(self) -> bool:
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return False
        body = bytearray()
        while True:
            part = await self._next_event()
            if isinstance(part, h11.Data):
                body += part.data
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                return False
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        request = Request(event.method.decode(), event.target.decode(), headers, bytes(body))
        await self._send(await self._handler(request))
        return self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE

    async def _next_event(self) -> object:
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self._reader.read(65536)
            self._conn.receive_data(data)

    async def _send(self, response: Response) -> None:
        headers = list(response.headers)
        if response.content_type is not None:
            headers.append(("Content-Type", response.content_type))
        if response.status != 204:
            headers.append(("Content-Length", str(len(response.body))))
        phrase = HTTPStatus(response.status).phrase.encode()
        head = h11.Response(status_code=response.status, headers=headers, reason=phrase)
        out = self._conn.send(head)
        if response.body and response.status != 204:
            out = (out or b"") + (self._conn.send(h11.Data(data=response.body)) or b"")
        out = (out or b"") + (self._conn.send(h11.EndOfMessage()) or b"")
        self._writer.write(out)
        await self._writer.drain()

    async def _reject(self, exc: h11.RemoteProtocolError) -> None:
        log.debug("bad HTTP request: %s", exc)
        if self._conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(ConnectionError, h11.LocalProtocolError):
                await self._send(Response(exc.error_status_hint, b"", None))
