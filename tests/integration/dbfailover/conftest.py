"""Fixtures: a directory the postgres user can reach, a native pair in it, the embedded
Toxiproxy server. Every node started is stopped afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chaos.server import ToxiproxyServer
from controlplane.dbfailover.pair import init_pair
from controlplane.dbfailover.pairstate import PairState
from controlplane.dbfailover.postgres import bin_path
from tests.integration.dbfailover.pairs import free_port, stop_all


@pytest.fixture()
def pair_root() -> Iterator[Path]:
    """Under /tmp with mode 0755: pytest's tmp_path is 0700, which the postgres user (the
    servers run as it when the tests run as root) cannot enter."""
    try:
        bin_path("pg_ctl")
    except Exception as exc:  # noqa: BLE001 - fail loudly, naming the package
        pytest.fail(str(exc), pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="covenant-dbf-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
async def pair(pair_root: Path) -> AsyncIterator[tuple[Path, PairState]]:
    directory = pair_root / "ams"
    state = await init_pair("ams", directory, free_port(), free_port())
    try:
        yield directory, state
    finally:
        await stop_all(directory)


@pytest.fixture()
async def toxiproxy() -> AsyncIterator[ToxiproxyServer]:
    server = ToxiproxyServer("127.0.0.1", 0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
