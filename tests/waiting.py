"""Waiting on a condition with a deadline: the one way tests synchronise with background work.

``eventually`` (async: never blocks the loop; the condition may itself be a coroutine
function, e.g. an HTTP poll) and ``wait_until`` (blocking, for subprocesses and threads)
re-check ``condition`` every ``interval`` seconds and fail the test, naming ``what``, once
``timeout`` seconds pass without it holding.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(condition: Callable[[], bool | Awaitable[bool]], what: str = "condition",
                     timeout: float = 20.0, interval: float = 0.01) -> float:
    """Returns ``time.monotonic()`` at the moment the condition was seen to hold."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return time.monotonic()
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(interval)


def wait_until(condition: Callable[[], bool], what: str = "condition", timeout: float = 10.0,
               interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(interval)
