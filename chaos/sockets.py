"""The two sockets of a proxied connection as asyncio protocols, and the sink writing to one."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Protocol, cast

from chaos.stages import Chunk

_LINGER_ZERO = struct.pack("ii", 1, 0)


class Outbound(Protocol):
    """Where a socket's reads go: the link of its direction."""

    def feed_bytes(self, data: bytes) -> None: ...

    def feed_eof(self) -> None: ...


class Side(asyncio.Protocol):
    """One socket of the connection; what it reads feeds ``outbound``."""

    def __init__(
        self, on_lost: Callable[[Side], None], on_made: Callable[[], None] | None = None
    ) -> None:
        self._on_made = on_made
        self.transport: asyncio.Transport | None = None
        self.outbound: Outbound | None = None
        self.peer: Side | None = None
        self.lost = False
        self.closing = False
        self._on_lost = on_lost
        self._pauses: set[str] = set()
        self._early: list[bytes] = []
        self._eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        if self._on_made is not None:
            self._on_made()

    def data_received(self, data: bytes) -> None:
        if self.outbound is not None:
            self.outbound.feed_bytes(data)
        else:
            # uvloop ignores pause_reading() in connection_made: hold what arrives early.
            self._early.append(data)

    def eof_received(self) -> bool:
        self._eof = True
        if self.outbound is not None:
            self.outbound.feed_eof()
        return True  # keep the socket open for writing until the other direction closes it

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._eof = True
        if self.outbound is not None:
            self.outbound.feed_eof()
        self._on_lost(self)

    def attach(self, link: Outbound) -> None:
        """Start feeding ``link``, first with anything that arrived before it existed."""
        self.outbound = link
        for data in self._early:
            link.feed_bytes(data)
        self._early.clear()
        if self._eof:
            link.feed_eof()

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause("sink")

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.resume("sink")

    def pause(self, reason: str) -> None:
        if not self._pauses and self.transport is not None and not self.closing:
            self.transport.pause_reading()
        self._pauses.add(reason)

    def resume(self, reason: str) -> None:
        self._pauses.discard(reason)
        if not self._pauses and self.transport is not None and not self.closing:
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closing:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.closing:
            self.closing = True
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.lost:
            self.closing = True
            self.transport.abort()

    def set_linger_zero(self) -> None:
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)


class Sink:
    """The end of a link: writes to the destination socket; EOF closes it."""

    def __init__(self, side: Side) -> None:
        self.side = side

    def feed(self, chunk: Chunk) -> None:
        self.side.write(chunk.data)

    def feed_eof(self) -> None:
        self.side.close()
