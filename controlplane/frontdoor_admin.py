"""The front door's admin side, on a loopback-only listener: the control plane pushes route
tables here (``FrontDoorRouter``), and at start the front door pulls the current table from
the control-plane API, so a restarted front door routes like the one it replaced.

Endpoints: ``PUT /routes`` (``{home: {region: weight}}``, as ``/v1/routes`` shows it),
``GET /routes``, ``GET /metrics``, ``GET /health``. A peer that is not loopback is refused
with 403 even if the listener were bound wider.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Mapping
from typing import Any, cast

import httptools

from controlplane.frontdoor_config import host_port
from controlplane.frontdoor_state import Door
from controlplane.frontdoor_wire import header_value, local_response, raw_response, status_of

log = logging.getLogger(__name__)

MAX_BODY = 1_048_576
PULL_EVERY_S = 1.0


def is_loopback(peer: object) -> bool:
    if not isinstance(peer, tuple) or not peer:
        return False
    try:
        return ipaddress.ip_address(str(peer[0])).is_loopback
    except ValueError:
        return False


def valid_table(data: object) -> Mapping[str, Mapping[str, int]] | None:
    """A route table as pushed, or None when it is not one."""
    if not isinstance(data, dict):
        return None
    for home, weights in data.items():
        if not isinstance(home, str) or not isinstance(weights, dict) or not all(
                isinstance(k, str) and isinstance(v, int) for k, v in weights.items()):
            return None
    return cast(Mapping[str, Mapping[str, int]], data)


class AdminConnection(asyncio.Protocol):
    def __init__(self, door: Door) -> None:
        self.door = door
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if not is_loopback(self.transport.get_extra_info("peername")):
            self.transport.write(local_response(403, {"detail": "admin is loopback only"},
                                                close=True))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._write(local_response(400, {"detail": f"bad request: {exc}"}, close=True))
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self._url, self._body = b"", bytearray()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        if len(self._body) + len(body) > MAX_BODY:
            raise ValueError("admin request body too large")
        self._body += body

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        path = self._url.decode("latin-1").split("?", 1)[0]
        self._write(self.answer(method, path, bytes(self._body)))

    def answer(self, method: str, path: str, body: bytes) -> bytes:
        door = self.door
        if path == "/routes" and method == "PUT":
            try:
                table = valid_table(json.loads(body))
            except ValueError:
                table = None
            if table is None:
                return local_response(400, {"detail": "expected {home: {region: weight}}"})
            door.set_routes(table)
            return local_response(200, {"routes": door.routed})
        if path == "/routes" and method == "GET":
            return local_response(200, {"routes": door.routed})
        if path == "/metrics" and method == "GET":
            return raw_response(200, door.metrics.render(),
                                b"content-type: text/plain; version=0.0.4\r\n")
        if path == "/health" and method == "GET":
            return local_response(200, {"status": "ok", "pid": os.getpid(),
                                        "routes": door.routed is not None})
        return local_response(404, {"detail": f"no admin endpoint {method} {path}"})

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


async def pull_routes(door: Door, control_plane: str, every_s: float = PULL_EVERY_S) -> None:
    """Until a table is pushed or pulled: fetch ``/v1/routes`` from the control plane."""
    host, port = host_port(control_plane)
    while door.metrics.route_updates == 0:
        table = await _get_routes(host, port)
        if table and door.metrics.route_updates == 0:
            door.set_routes(table)
            log.info("route table pulled from %s", control_plane)
            return
        await asyncio.sleep(every_s)


async def _get_routes(host: str, port: int) -> Mapping[str, Mapping[str, int]] | None:
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(2.0):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET /v1/routes HTTP/1.1\r\nHost: {host}\r\n"
                         "Connection: close\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = header_value(head, b"content-length")
            body = await (reader.readexactly(int(length)) if length.isdigit()
                          else reader.read())
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        log.debug("control plane at %s:%d not answering yet: %s", host, port, exc)
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    if status_of(head) != 200:
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    return valid_table(data)
