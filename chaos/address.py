"""Listen addresses the Go way (spec 1.2, 1.7.1).

One socket, IPv4 preferred for hostnames, the wildcard bound dual-stack."""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass

from chaos.errors import ApiError

WILDCARDS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class Endpoint:
    """A resolved TCP address: ``family`` and ``host`` ready for ``bind``."""

    family: int
    host: str
    port: int

    def __str__(self) -> str:
        return format_address(self.host, self.port)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_host_port(address: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``: ``host:port``, ``[v6]:port`` or ``:port``."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0 or not address[end + 1 :].startswith(":"):
            raise ApiError(500, f"address {address}: missing port in address")
        return address[1:end], address[end + 2 :]
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ApiError(500, f"address {address}: missing port in address")
    if ":" in host:
        raise ApiError(500, f"address {address}: too many colons in address")
    return host, port


def _port(text: str, address: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise ApiError(500, f"address {address}: invalid port {text!r}; use 0-65535")
    return int(text)


async def resolve(address: str) -> Endpoint:
    """Resolve to one endpoint; hostnames to their first IPv4 address when there is one."""
    host, port_text = split_host_port(address or ":0")
    port = _port(port_text, address)
    if host in WILDCARDS:
        if socket.has_ipv6:
            return Endpoint(socket.AF_INET6, "::", port)
        return Endpoint(socket.AF_INET, "0.0.0.0", port)  # no IPv6: reported as 0.0.0.0:P
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ApiError(500, f"listen tcp {address}: lookup {host}: no such host") from exc
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return Endpoint(family, str(sockaddr[0]), port)



def bind(endpoint: Endpoint, backlog: int = 4096) -> socket.socket:
    """A listening socket on exactly this endpoint; ApiError(500) in Go's wording on failure."""
    sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if endpoint.family == socket.AF_INET6 and endpoint.host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((endpoint.host, endpoint.port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use"
        raise ApiError(500, f"listen tcp {endpoint}: bind: {reason}") from exc
    return sock


def bound_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return format_address(str(host), int(port))


def parse_upstream(upstream: str) -> tuple[str, int]:
    """The host and port to dial; the string itself is stored verbatim and never validated."""
    host, port_text = split_host_port(upstream)
    if not port_text.isdigit():
        raise ApiError(500, f"dial tcp {upstream}: unknown port")
    return host or "127.0.0.1", int(port_text)
