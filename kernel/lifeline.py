"""Children that die with their parent, whatever killed it (Linux).

``lifeline_argv(command)`` wraps a command so that, once started, it receives SIGTERM the
moment the process that started it dies — even by SIGKILL, which gives the parent no chance
to clean up. This file is the wrapper: run as a script (``python -S lifeline.py PARENT --
command...``, standard library only, so it starts in milliseconds), it asks the kernel for
the parent-death signal (``prctl(PR_SET_PDEATHSIG)``), checks that the parent is still the
one that started it (closing the race where the parent dies before the ``prctl``), and then
``exec``s the command in its place: the command keeps the signal, the pid and the stdio.

Not needing the child's cooperation is the point: the core API's own entry point knows
nothing of its supervisor. The signal follows the *thread* that forked the child, so spawn
from a thread that lives as long as the process (asyncio's subprocesses do: the loop's).
Elsewhere than Linux the command runs without a lifeline.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1


def lifeline_argv(command: Sequence[str], parent: int | None = None,
                  python: str = sys.executable) -> list[str]:
    """``command`` wrapped so that it gets SIGTERM when ``parent`` (default: this process)
    dies."""
    return [python, "-S", str(Path(__file__).resolve()), str(parent or os.getpid()), "--",
            *command]


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0


def main(args: Sequence[str]) -> None:
    if len(args) < 3 or args[1] != "--" or not args[0].isdigit():
        sys.exit("usage: python -S lifeline.py PARENT_PID -- COMMAND [ARG...]")
    parent, command = int(args[0]), list(args[2:])
    set_parent_death_signal()
    if os.getppid() != parent:  # the parent died before the prctl: nobody to serve
        sys.exit(0)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
