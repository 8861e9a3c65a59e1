"""Everything under tests/integration talks to real services and carries the marker."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def moto_url() -> Iterator[str]:
    """A real ``moto_server`` (AWS APIs: Route 53, RDS) on a free loopback port."""
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        pytest.fail(f"{moto} is missing: install the test extras (moto[server])")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    try:
        wait_until(lambda: answers() or proc.poll() is not None, "moto_server", 30, 0.1)
        if proc.poll() is not None:
            pytest.fail(f"moto_server exited with {proc.returncode} before answering")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
