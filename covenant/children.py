"""The processes ``covenant up`` starts (region APIs, the front door), supervised: each is
started on a lifeline (``kernel.lifeline``: it gets SIGTERM when ``covenant up`` dies, even
by SIGKILL), watched, reported the moment it exits, and restarted with back-off.

``backoff_s`` and ``exit_text`` are pure and table-tested; ``Supervisor`` does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kernel.lifeline import lifeline_argv

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long starts its back-off over
STOP_TIMEOUT_S = 10.0


def backoff_s(restarts: int, ran_for_s: float) -> float:
    """Seconds to wait before restarting a child that exited after ``ran_for_s`` seconds,
    having been restarted ``restarts`` times: doubling from 0.5 s up to 30 s, and back to
    0.5 s once a run lasted a minute (a crash loop backs off; an odd crash does not)."""
    if ran_for_s >= STABLE_AFTER_S:
        return FIRST_BACKOFF_S
    return min(FIRST_BACKOFF_S * 2.0 ** min(restarts, 16), MAX_BACKOFF_S)


def exit_text(returncode: int) -> str:
    """``exit 1`` or ``killed by SIGKILL``, as a person reads it."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


@dataclass(frozen=True)
class ChildSpec:
    key: str                   # "syd", "frontdoor": how the API and events name it
    name: str                  # "region API syd"
    argv: tuple[str, ...]
    env: Mapping[str, str]
    log_path: Path


@dataclass
class Child:
    spec: ChildSpec
    process: asyncio.subprocess.Process
    started_at: float
    restarts: int = 0
    last_exit: str | None = None
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process.returncode is None


Report = Callable[[str], None]  # one line per event, e.g. printed by `covenant up`


class Supervisor:
    def __init__(self, report: Report | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 on_restart: Callable[[Child], None] | None = None) -> None:
        self.children: dict[str, Child] = {}
        self._report = report or (lambda line: log.warning("%s", line))
        self._clock = clock
        self._on_restart = on_restart
        self._stopping = asyncio.Event()

    async def start(self, spec: ChildSpec) -> Child:
        """Start ``spec`` on a lifeline; it is restarted whenever it exits until ``stop``."""
        child = Child(spec, await self._launch(spec), self._clock())
        self.children[spec.key] = child
        child.watcher = asyncio.get_running_loop().create_task(self._watch(child))
        return child

    async def _launch(self, spec: ChildSpec) -> asyncio.subprocess.Process:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "ab") as out:
            return await asyncio.create_subprocess_exec(
                *lifeline_argv(spec.argv), env=dict(spec.env), stdout=out, stderr=out,
                stdin=asyncio.subprocess.DEVNULL, start_new_session=True)

    async def _watch(self, child: Child) -> None:
        while True:
            code = await child.process.wait()
            if self._stopping.is_set():
                return
            ran = self._clock() - child.started_at
            delay = backoff_s(child.restarts, ran)
            child.last_exit = exit_text(code)
            self._report(f"{child.spec.name} (pid {child.process.pid}) exited: "
                         f"{child.last_exit} after {ran:.1f} s; restarting in {delay:g} s "
                         f"(restart {child.restarts + 1}; log {child.spec.log_path})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            child.process = await self._launch(child.spec)
            child.started_at, child.restarts = self._clock(), child.restarts + 1
            self._report(f"{child.spec.name} restarted: pid {child.process.pid}")
            if self._on_restart is not None:
                self._on_restart(child)

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM every child, SIGKILL those still running after ``timeout_s``."""
        self._stopping.set()
        children = list(self.children.values())
        for child in children:
            if child.running:
                child.process.terminate()
        for child in children:
            try:
                await asyncio.wait_for(child.process.wait(), timeout=timeout_s)
            except TimeoutError:
                child.process.kill()
                await child.process.wait()
            if child.watcher is not None:
                await child.watcher
        self.children.clear()
