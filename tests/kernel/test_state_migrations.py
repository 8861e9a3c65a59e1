"""The state database's migration history on SQLite: from empty, from the previous schema,
adopting stores from before the history, concurrent and repeated opens, unknown revisions.
The same cases run on PostgreSQL in tests/integration/kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from controlplane.errors import StoreError
from controlplane.store import StateStore
from kernel.state.migrate import VERSION_TABLE, _script, current_state_revision, upgrade_state
from slo.store import SloStore
from slo.store import StoreError as SloStoreError
from tests.kernel import state_cases as cases


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_an_empty_database_upgrades_to_exactly_the_metadata(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert current_state_revision(conn) is None
        upgrade_state(engine)
    finally:
        engine.dispose()
    cases.assert_at_head_with_metadata(url)


def test_a_store_at_the_baseline_gains_the_added_columns(url: str) -> None:
    cases.make_store_at_baseline(url)
    assert cases.revision(url) == "0001"
    cases.assert_opens_at_head_keeping_the_old_row(url)


def test_a_pre_history_store_without_the_added_columns_is_adopted(url: str) -> None:
    cases.assert_adopted(url, added_columns=())


def test_a_pre_history_store_with_the_added_columns_is_adopted(url: str) -> None:
    cases.assert_adopted(url, added_columns=cases.ADDED_COLUMNS)


def test_a_pre_history_store_of_the_slo_engine_only_gains_the_control_plane_tables(
        url: str) -> None:
    cases.make_pre_history_store(url, tables=("slo_policy_decisions", "slo_budget_snapshots"))
    SloStore(url).close()
    cases.assert_at_head_with_metadata(url)


def test_a_pre_history_store_from_before_plots_gains_the_plot_table(url: str) -> None:
    older = tuple(t for t in cases.tables_of_pre_history() if t != "cp_incident_plots")
    cases.make_pre_history_store(url, cases.ADDED_COLUMNS, tables=older)
    StateStore(url).close()
    cases.assert_at_head_with_metadata(url)


def test_a_store_half_way_through_the_old_alter_is_refused_by_name(url: str) -> None:
    cases.make_pre_history_store(url, added_columns=("latency_p99_s",))
    with pytest.raises(StoreError, match=r"request_rate.*COVENANT_STATE_URL"):
        StateStore(url)
    assert VERSION_TABLE not in cases.tables(url)  # nothing half-done: the open rolled back


def test_a_failing_migration_leaves_nothing_behind(url: str) -> None:
    cases.assert_a_failing_migration_leaves_nothing_behind(url)


def test_the_history_has_one_head() -> None:
    """Two packages adding a revision on the same parent fork the history; renumber one."""
    assert len(_script().get_heads()) == 1


def test_opening_twice_is_idempotent(url: str) -> None:
    for _ in range(2):
        StateStore(url).close()
        SloStore(url).close()
    cases.assert_at_head_with_metadata(url)


def test_concurrent_openers_on_one_sqlite_file(url: str) -> None:
    cases.assert_concurrent_openers_all_succeed(url)


def test_downgrade_and_back(url: str) -> None:
    cases.assert_downgrade_and_back(url)


def test_a_revision_from_a_newer_release_is_refused(url: str) -> None:
    StateStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"'9999'.*does not know.*COVENANT_STATE_URL"):
        StateStore(url)
    with pytest.raises(SloStoreError, match=r"'9999'.*COVENANT_STATE_URL"):
        SloStore(url)


@pytest.mark.integration  # a subprocess
def test_the_kernel_migrates_without_importing_another_covenant_package(url: str) -> None:
    """The kernel is the neutral base: running its history (env.py and all revisions) pulls
    in no other Covenant package."""
    probe = (
        "import sys, sqlalchemy as sa\n"
        "from kernel.state.migrate import upgrade_state\n"
        f"upgrade_state(sa.create_engine({url!r}))\n"
        "others = {'controlplane', 'slo', 'core_api', 'anomaly', 'chaos', 'runbooks',\n"
        "          'carbon', 'compliance', 'dashboards', 'infra', 'covenant'}\n"
        "print(sorted(others & {m.split('.')[0] for m in sys.modules}))\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert cases.tables(url) >= {VERSION_TABLE, "cp_observations", "slo_budget_snapshots"}
