"""Before ``covenant up`` starts anything: is every fixed port it will listen on free?

A port already held — typically by a region API orphaned by an earlier ``covenant up`` that
was killed — would make the new process die with "address already in use" while the old
one keeps answering the probes, so the new stack would supervise something it did not
start. ``busy`` finds such ports and who holds them (psutil); ``explain`` is the one line
``covenant up`` stops with. ``explain`` is pure and table-tested.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class Claim:
    port: int
    what: str  # "region API syd"


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    command: str  # its command line, shortened


@dataclass(frozen=True, slots=True)
class Busy:
    claim: Claim
    holder: Holder | None  # None: in use, but the holder is not visible to us


def explain(busy: Sequence[Busy]) -> str:
    """One line naming every busy port, its holder and the fix ("" when none is busy)."""
    if not busy:
        return ""
    parts = []
    for b in busy:
        who = (f"pid {b.holder.pid} ({b.holder.command})" if b.holder is not None
               else "a process not visible to this user")
        parts.append(f"{b.claim.port} ({b.claim.what}) is held by {who}")
    pids = sorted({b.holder.pid for b in busy if b.holder is not None})
    stop = f"stop it (kill {' '.join(map(str, pids))})" if pids else "stop what holds it"
    return (f"port{'s' if len(busy) > 1 else ''} already in use: {'; '.join(parts)}. "
            f"Perhaps a covenant up that was killed left it running: {stop}, or choose "
            "other ports in covenant.yaml (stack:)")


def busy(host: str, claims: Iterable[Claim]) -> list[Busy]:
    """The claims whose port cannot be bound on ``host`` now, with their holders."""
    taken = [c for c in claims if c.port and not _bindable(host, c.port)]
    if not taken:
        return []
    holders = _listeners({c.port for c in taken})
    return [Busy(c, holders.get(c.port)) for c in taken]


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As the servers bind: a connection left in TIME_WAIT is no obstacle, a listener is.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _listeners(ports: set[int]) -> dict[int, Holder]:
    found: dict[int, Holder] = {}
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            if (conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports
                    and conn.pid is not None):
                found.setdefault(conn.laddr.port, Holder(conn.pid, _command(conn.pid)))
    return found


def _command(pid: int, width: int = 80) -> str:
    try:
        line = " ".join(" ".join(psutil.Process(pid).cmdline()).split())
    except psutil.Error:
        return "exited since"
    return line if len(line) <= width else line[:width - 3] + "..."
