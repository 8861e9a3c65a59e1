"""`covenant db switchover|failover|rejoin` take the region lock on the state store, the same
one `covenant up`'s runbooks and failovers take: refused while another holder has the
region, before anything is touched; a rejoin goes ahead under the failover run that asks
for it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from covenant.cli import app
from kernel.state.locks import SqlRegionLock


@pytest.fixture()
def held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlRegionLock]:
    monkeypatch.setenv("COVENANT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    lock = SqlRegionLock(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    assert asyncio.run(lock.acquire("ams", "gameday:weekly", 600))
    yield lock
    lock.close()


@pytest.mark.parametrize("command", [["switchover"], ["failover", "--reason", "drill"],
                                     ["rejoin"]])
def test_a_held_region_refuses_the_operation_and_names_the_holder(
        held: SqlRegionLock, tmp_path: Path, command: list[str]) -> None:
    result = CliRunner().invoke(app, ["db", command[0], "ams", "--dir", str(tmp_path / "pair"),
                                      *command[1:]])
    assert result.exit_code == 1, result.output
    assert f"covenant db {command[0]}: region ams is locked by gameday:weekly" in result.output
    assert not (tmp_path / "pair").exists()  # nothing touched
    assert asyncio.run(held.holder("ams")) == "gameday:weekly"  # and the lock not taken over
