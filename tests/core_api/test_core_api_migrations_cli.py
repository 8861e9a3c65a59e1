"""Migrations match the models; `covenant db upgrade|seed` seed 195 / >=300 / 6 / 6."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from core_api import migrate
from core_api.database import Database
from core_api.models import CountryRow, ProjectRow, RegionRow, SectorRow
from core_api.regions import REGION_CODES
from covenant.cli import app

from .conftest import make_settings


def test_migrations_match_the_models_and_go_down_and_up(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        migrate.upgrade(db.engine)
        with db.engine.begin() as conn:
            command.check(migrate.alembic_config(conn))  # raises if a model lacks a migration
            assert migrate.is_at_head(conn)
        tables = set(inspect(db.engine).get_table_names())
        assert {"outbox_events", "projects", "users", "countries"} <= tables
        with db.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
    finally:
        db.dispose()


@pytest.fixture()
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COVENANT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COVENANT_DATABASE_URL", raising=False)
    return tmp_path


def test_db_seed_all_regions_counts(cli_env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.output.count("at head") == 6
    result = runner.invoke(app, ["db", "seed"])
    assert result.exit_code == 0, result.output
    total_projects = 0
    for region in REGION_CODES:
        db = Database.for_region(make_settings(cli_env), region)
        try:
            with db.reads() as s:
                counts = [s.scalar(select(func.count()).select_from(t))
                          for t in (CountryRow, RegionRow, SectorRow)]
                projects = s.scalar(select(func.count()).select_from(ProjectRow).where(
                    ProjectRow.region == region)) or 0
                sectors = s.scalar(select(func.count(func.distinct(ProjectRow.sector))))
        finally:
            db.dispose()
        assert counts == [195, 6, 6], region
        assert projects >= 50 and sectors == 6, region
        total_projects += projects
    assert total_projects >= 300
    again = runner.invoke(app, ["db", "seed", "--region", "ams"])
    assert again.exit_code == 0 and "0 reference rows, 0 projects added" in again.output


def test_db_commands_refuse_unknown_regions(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["db", "seed", "--region", "lhr"])
    assert result.exit_code == 2 and "lhr" in result.output
