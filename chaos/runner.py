"""Running the server's event loop: uvloop when available (faster socket relaying), else asyncio."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], use_uvloop: bool = True) -> T:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            log.info("uvloop is not installed; using the standard asyncio loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)
