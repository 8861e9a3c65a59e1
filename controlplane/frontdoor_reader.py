"""Reading requests from one client connection (httptools): each message's head, its
end-to-end headers and the few the front door routes by, its body (de-chunked, bounded),
queued in order; a stream that stops being HTTP gets a 400 after the answers already due.

``RequestReader`` answers nothing itself: a subclass's ``dispatch`` does, and calls
``respond`` (or ``finish`` after streaming an answer) to move on to the next request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import cast

import httptools

from controlplane.frontdoor_state import Request
from controlplane.frontdoor_wire import HOP_BY_HOP, local_response
from core_api.contract import COUNTRY_HEADER, IDEMPOTENCY_HEADER, REGION_HEADER

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 65_536
MAX_PIPELINED = 8
_REGION = REGION_HEADER.encode()
_COUNTRY = COUNTRY_HEADER.encode()
_KEY = IDEMPOTENCY_HEADER.encode()
_TRACEPARENT = b"traceparent"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Refused(Exception):
    """A request the parser must stop on: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class RequestReader(asyncio.Protocol):
    def __init__(self, max_body_bytes: int, registry: set[RequestReader] | None = None,
                 traced: bool = False) -> None:
        self.max_body_bytes = max_body_bytes
        self.registry = registry  # the open connections, for the idle sweep
        self.traced = traced      # keep the client's traceparent apart (it is replaced)
        self.idle_since = 0.0     # when the last answer ended (0: a request is being served)
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: deque[Request] = deque()
        self.current: Request | None = None
        self.closed = False
        self._paused = False
        self._running = False
        self._error: tuple[int, str] | None = None
        # the message being parsed
        self._url = b""
        self._lines: list[bytes] = []
        self._body: list[bytes] = []
        self._head_bytes = self._body_bytes = 0
        self._region = self._country = self._traceparent = ""
        self._keyed = self._expect = False

    def dispatch(self, req: Request) -> None:
        """Answer ``req`` (now ``self.current``), at once or later."""
        raise NotImplementedError

    def refused(self, status: int) -> None:
        """A request could not be read and was answered ``status`` (for the counters)."""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.idle_since = time.monotonic()
        if self.registry is not None:
            self.registry.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except _Refused as exc:
            self._fail_after(exc.status, str(exc))
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refused):
                self._fail_after(cause.status, str(cause))
            else:
                log.error("front door failed parsing a request", exc_info=cause)
                self._fail_after(400, "the request could not be read")
        except httptools.HttpParserUpgrade:
            self._fail_after(400, "protocol upgrades are not relayed")
        except httptools.HttpParserError as exc:
            self._fail_after(400, f"not a valid HTTP/1.1 request: {exc}")
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.queue.clear()
        if self.registry is not None:
            self.registry.discard(self)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._lines, self._body = [], []
        self._head_bytes = self._body_bytes = 0
        self._region = self._country = self._traceparent = ""
        self._keyed = self._expect = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > MAX_HEAD_BYTES:
            raise _Refused(400, f"the request target is over {MAX_HEAD_BYTES} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEAD_BYTES:
            raise _Refused(431, f"the request head is over {MAX_HEAD_BYTES} bytes")
        lname = name.lower()
        if lname in HOP_BY_HOP:
            self._expect = self._expect or (lname == b"expect"
                                            and value.lower() == b"100-continue")
            return
        if lname == _REGION:
            self._region = value.decode("latin-1")
        elif lname == _COUNTRY:
            self._country = value.decode("latin-1")
        elif lname == _KEY:
            self._keyed = bool(value)
        elif lname == _TRACEPARENT and self.traced:
            self._traceparent = value.decode("latin-1")
            return  # relayed as the front door's own, naming its span
        self._lines.append(b"%s: %s\r\n" % (name, value))

    def on_headers_complete(self) -> None:
        if self._expect and self.transport is not None:
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.max_body_bytes:
            raise _Refused(413, f"the request body is over {self.max_body_bytes} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        target = self._url
        text = target.decode("latin-1")
        path, _, query = text.partition("?")
        req = Request(
            self.parser.get_method().decode(), target, path, query, self._lines,
            b"".join(self._body), self.parser.should_keep_alive(), self._region,
            self._country, self._keyed)
        if self._traceparent:
            req.traceparent = self._traceparent
        self.queue.append(req)
        if len(self.queue) > MAX_PIPELINED and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True

    # requests, one at a time
    def _next(self) -> None:
        if self._running:
            return
        self._running = True
        try:
            while self.current is None and self.queue and not self.closed:
                self.current = self.queue.popleft()
                self.idle_since = 0.0
                self.dispatch(self.current)
        finally:
            self._running = False
        if self._error is not None and self.current is None and not self.queue:
            self._refuse_and_close(*self._error)
            return
        if self._paused and len(self.queue) <= MAX_PIPELINED // 2 and self.transport:
            self._paused = False
            self.transport.resume_reading()

    def respond(self, data: bytes) -> None:
        """Write a whole answer to the current request, then go on to the next."""
        if self.transport is not None and not self.closed:
            self.transport.write(data)
        self.finish()

    def finish(self) -> None:
        """The current request is answered: close if it asked to, else read on."""
        req, self.current = self.current, None
        self.idle_since = time.monotonic()
        if req is not None and not req.keep_alive:
            self._close()
            return
        self._next()

    def _fail_after(self, status: int, reason: str) -> None:
        """The stream cannot be read further: answer the requests already read, then this
        error, then close."""
        self._error = (status, reason)
        if self.transport is not None:
            self.transport.pause_reading()

    def _refuse_and_close(self, status: int, reason: str) -> None:
        self.refused(status)
        if self.transport is not None and not self.closed:
            self.transport.write(local_response(status, {"detail": reason}, close=True))
        self._close()

    def close_if_idle(self, now: float, idle_s: float) -> None:
        """Close a connection that has waited ``idle_s`` for its next request (a client that
        went quiet, or one sending its head a byte at a time)."""
        if self.idle_since and now - self.idle_since > idle_s and not self.closed:
            self._close()

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
