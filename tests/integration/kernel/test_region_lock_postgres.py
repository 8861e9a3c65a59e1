"""The region lock on a real PostgreSQL: the SQLite cases of tests/kernel, with engines and
processes contending through PostgreSQL's row locks."""

from __future__ import annotations

import pytest

from tests.kernel import region_lock_cases as cases

pytestmark = pytest.mark.integration


async def test_exclusive_refreshable_released_by_its_holder_and_expiring(
        postgres_url: str) -> None:
    await cases.assert_exclusive_refreshable_released_by_holder_and_expiring(postgres_url)


async def test_two_engines_see_one_holder(postgres_url: str) -> None:
    await cases.assert_engines_see_one_holder(postgres_url)


def test_contenders_on_two_engines_one_wins(postgres_url: str) -> None:
    cases.assert_threads_on_engines_contend_one_winner(postgres_url)


def test_contending_processes_one_wins(postgres_url: str) -> None:
    cases.assert_processes_contend_one_winner(postgres_url)
