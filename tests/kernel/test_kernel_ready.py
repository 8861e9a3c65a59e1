"""poll_ready: "" once the endpoint answers 2xx; why not when the process exits or time runs out."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from kernel.ready import poll_ready


@dataclass
class Process:
    returncode: int | None = None


def answering(*codes: int) -> httpx.AsyncClient:
    left = list(codes)

    def reply(_: httpx.Request) -> httpx.Response:
        return httpx.Response(left.pop(0) if len(left) > 1 else left[0])
    return httpx.AsyncClient(transport=httpx.MockTransport(reply))


@pytest.mark.parametrize(("codes", "process", "timeout", "expected"), [
    ((503, 503, 200), Process(), 5.0, ""),              # ready after two refusals
    ((503,), Process(returncode=3), 5.0, "exited with 3"),  # died: said at once
    ((503,), Process(), 0.05, "not ready after 0 s"),   # never ready
])
async def test_poll_ready(codes: tuple[int, ...], process: Process, timeout: float,
                          expected: str) -> None:
    async with answering(*codes) as client:
        assert await poll_ready(client, "http://child/ready", process, timeout, 0.01) == expected
