"""The node dies: SIGKILL to a postmaster and every process it started, at once.

Killing the postmaster alone leaves its backends running for a moment (each notices the
death on its own), and they keep committing on the connections they hold, replicated by
an equally orphaned walsender: a failover test would measure those. Tests and the
benchmark kill the whole server, as a crashed machine would."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil


def kill_server(datadir: Path) -> int:
    """kill -9 the server in ``datadir`` (postmaster and children); returns its pid."""
    pid = int((datadir / "postmaster.pid").read_text().split()[0])
    return kill_tree(pid)


def kill_tree(pid: int) -> int:
    try:
        victims = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return pid
    for process in victims:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return pid
