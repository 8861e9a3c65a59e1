"""The region lock on the state store, on SQLite (the PostgreSQL run is in
tests/integration/kernel/test_region_lock_postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.state.locks import RegionLockError, SqlRegionLock
from tests.kernel import region_lock_cases as cases


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


async def test_exclusive_refreshable_released_by_its_holder_and_expiring(tmp_path: Path) -> None:
    await cases.assert_exclusive_refreshable_released_by_holder_and_expiring(_url(tmp_path))


async def test_two_engines_see_one_holder(tmp_path: Path) -> None:
    await cases.assert_engines_see_one_holder(_url(tmp_path))


def test_contenders_on_two_engines_one_wins(tmp_path: Path) -> None:
    cases.assert_threads_on_engines_contend_one_winner(_url(tmp_path))


def test_contending_processes_one_wins(tmp_path: Path) -> None:
    cases.assert_processes_contend_one_winner(_url(tmp_path))


def test_an_unreachable_store_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(RegionLockError, match="COVENANT_STATE_URL"):
        SqlRegionLock(f"sqlite:///{tmp_path / 'missing' / 'state.db'}")
