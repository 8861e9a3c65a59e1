"""Keep-alive connections to the regions: one asyncio protocol per connection, pooled per
region, each parsing only the framing of its responses (httptools) while the bytes stream
through untouched to whoever sent the request (a ``Sink``).

A connection carries one request at a time. It goes back to the pool when its response is
complete and both sides allow keep-alive; an idle one older than ``idle_s`` is closed before
the origin's own keep-alive timeout can race a new request. A busy one that has not
completed within ``response_timeout_s`` fails with ``Failure.TIMEOUT``. ``sweep`` does both,
from a timer, so the hot path sets no timer per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Protocol, cast

import httptools

from controlplane.frontdoor_routing import Failure

log = logging.getLogger(__name__)

MAX_HEAD = 65_536
_HEAD_END = b"\r\n\r\n"


class Sink(Protocol):
    """Where a response goes: the client connection streaming it, or a buffer (fan-out)."""

    def upstream_head(self, conn: Upstream, head: bytes) -> None: ...

    def upstream_data(self, data: bytes) -> None: ...

    def upstream_done(self, conn: Upstream) -> None: ...

    def upstream_failed(self, conn: Upstream, failure: Failure) -> None: ...


class ConnectFailed(Exception):
    """Connecting to a region failed (refused, unreachable, or not within the timeout)."""


class Upstream(asyncio.Protocol):
    def __init__(self, pool: Pool, region: str) -> None:
        self.pool = pool
        self.region = region
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.sink: Sink | None = None
        self.started = 0.0      # when the request in flight was sent; idle since, when idle
        self.head_only = False  # a HEAD: the response ends with its head
        self.reused = False
        self._head = b""
        self._got_head = False
        self._complete = False
        self._keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        sink = self.sink
        if sink is None:  # bytes nobody asked for: this connection cannot be trusted
            self.close()
            return
        try:
            if not self._got_head:
                self._on_head_bytes(sink, data)
            else:
                if not self.head_only:
                    self.parser.feed_data(data)
                sink.upstream_data(data)
        except httptools.HttpParserError as exc:
            log.info("%s answered something that is not HTTP/1.1 (%s)", self.region, exc)
            self._fail(Failure.RESET)
            return
        if self._complete and self.sink is sink:
            self._finish(sink)

    def _on_head_bytes(self, sink: Sink, data: bytes) -> None:
        buffered = self._head + data if self._head else data
        end = buffered.find(_HEAD_END)
        if end < 0:
            if len(buffered) > MAX_HEAD:
                raise httptools.HttpParserError("response head too large")
            self._head = buffered
            if not self.head_only:
                self.parser.feed_data(data)
            return
        self._head, self._got_head = b"", True
        cut = end + len(_HEAD_END)
        if self.head_only:
            self._complete, self._keep_alive = True, False  # the parser would wait for a body
        else:
            self.parser.feed_data(data)
        sink.upstream_head(self, buffered[:cut])
        if len(buffered) > cut and not self.head_only:
            sink.upstream_data(buffered[cut:])

    def eof_received(self) -> bool:
        if self.sink is not None and self._got_head and not self._complete:
            self._complete, self._keep_alive = True, False  # a body delimited by the close
            self._finish(self.sink)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.forget(self)
        if self.sink is not None:
            self._fail(Failure.RESET)

    # httptools callbacks
    def on_message_complete(self) -> None:
        self._complete = True
        self._keep_alive = self.parser.should_keep_alive()

    # used by the relay
    def send(self, sink: Sink, request: bytes, head_only: bool = False) -> None:
        assert self.transport is not None
        self.sink, self.head_only = sink, head_only
        self._got_head = self._complete = False
        self._keep_alive = True
        self.started = time.monotonic()
        self.pool.busy.add(self)
        self.transport.write(request)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def detach(self) -> None:
        """The client went away mid-response: nobody reads the rest, so drop the connection."""
        self.sink = None
        self.pool.busy.discard(self)
        if self.transport is not None:
            self.transport.abort()

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def _finish(self, sink: Sink) -> None:
        self.sink = None
        self.pool.busy.discard(self)
        if self._keep_alive:
            self.reused = True
            self.pool.release(self)
        else:
            self.close()
        sink.upstream_done(self)

    def _fail(self, failure: Failure) -> None:
        sink, self.sink = self.sink, None
        self.pool.busy.discard(self)
        if self.transport is not None:
            self.transport.abort()
        if sink is not None:
            sink.upstream_failed(self, failure)

    def timed_out(self) -> None:
        self._fail(Failure.TIMEOUT)


class Pool:
    """Idle connections per region (last in, first out) and the connections in use."""

    def __init__(self, endpoints: Mapping[str, tuple[str, int]], connect_timeout_s: float = 2.0,
                 idle_s: float = 4.0, response_timeout_s: float = 30.0) -> None:
        self.endpoints = dict(endpoints)
        self.idle: dict[str, list[Upstream]] = {r: [] for r in self.endpoints}
        self.busy: set[Upstream] = set()
        self.connect_timeout_s = connect_timeout_s
        self.idle_s = idle_s
        self.response_timeout_s = response_timeout_s
        self.opened = 0

    def take(self, region: str) -> Upstream | None:
        idle = self.idle[region]
        while idle:
            conn = idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def open(self, region: str) -> Upstream:
        host, port = self.endpoints[region]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(lambda: Upstream(self, region), host, port)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"{region} at {host}:{port}: {exc or type(exc).__name__}") \
                from exc
        self.opened += 1
        return conn

    def release(self, conn: Upstream) -> None:
        conn.started = time.monotonic()
        self.idle[conn.region].append(conn)

    def forget(self, conn: Upstream) -> None:
        self.busy.discard(conn)
        idle = self.idle.get(conn.region)
        if idle and conn in idle:
            idle.remove(conn)

    def sweep(self, now: float) -> None:
        """Close idle connections past ``idle_s``; fail requests past the response timeout."""
        for idle in self.idle.values():
            stale = [c for c in idle if now - c.started > self.idle_s]
            for conn in stale:
                idle.remove(conn)
                conn.close()
        late = [c for c in self.busy if now - c.started > self.response_timeout_s]
        for conn in late:
            conn.timed_out()

    def close(self) -> None:
        for idle in self.idle.values():
            for conn in idle:
                conn.close()
            idle.clear()
        for conn in list(self.busy):
            conn.detach()
