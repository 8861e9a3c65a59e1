"""The state database's migration history on a real PostgreSQL: the SQLite cases of
tests/kernel, plus concurrent replicas serialised by the advisory lock."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel.state.migrate import current_state_revision, upgrade_state
from tests.kernel import state_cases as cases

pytestmark = pytest.mark.integration


def test_an_empty_database_upgrades_to_exactly_the_metadata(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert current_state_revision(conn) is None
        upgrade_state(engine)
    finally:
        engine.dispose()
    cases.assert_at_head_with_metadata(postgres_url)


def test_a_store_at_the_baseline_gains_the_added_columns(postgres_url: str) -> None:
    cases.make_store_at_baseline(postgres_url)
    assert cases.revision(postgres_url) == "0001"
    cases.assert_opens_at_head_keeping_the_old_row(postgres_url)


@pytest.mark.parametrize("added", [(), cases.ADDED_COLUMNS], ids=["without", "with"])
def test_a_pre_history_store_is_adopted(postgres_url: str, added: tuple[str, ...]) -> None:
    cases.assert_adopted(postgres_url, added_columns=added)


def test_concurrent_replicas_open_one_empty_database(postgres_url: str) -> None:
    cases.assert_concurrent_openers_all_succeed(postgres_url, openers=6)


def test_downgrade_and_back(postgres_url: str) -> None:
    cases.assert_downgrade_and_back(postgres_url)


def test_a_failing_migration_leaves_nothing_behind(postgres_url: str) -> None:
    cases.assert_a_failing_migration_leaves_nothing_behind(postgres_url)
