"""Database URLs, the fast JSON path, and the benchmark's one-line JSON output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from bench import api as bench_api
from core_api.database import database_url
from core_api.errors import ConfigurationError
from core_api.projects import ProjectPageView, ProjectView
from core_api.schemas import ProjectPage
from kernel.settings import Settings


def test_database_url_per_region(tmp_path: Path) -> None:
    sqlite = database_url(Settings(data_dir=tmp_path, database_url=None), "sin")
    assert sqlite == f"sqlite:///{(tmp_path / 'core_sin.sqlite3').resolve()}"
    pg = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u@h/covenant_{region}")
    assert database_url(pg, "jnb") == "postgresql+psycopg://u@h/covenant_jnb"
    with pytest.raises(ConfigurationError, match="COVENANT_DATABASE_URL"):
        database_url(Settings(data_dir=tmp_path, database_url="not a url"), "ams")


def test_fast_project_json_equals_the_typed_model() -> None:
    naive = datetime(2024, 5, 1, 12, 30, 15, 123456)  # as SQLite hands it back
    view = ProjectView("ams-7", "ams", "Dam", "FRA", "water", 10, "active", 3, 40, 2, naive, naive)
    page = ProjectPageView(total=1, limit=50, offset=0, items=[view])
    fast = orjson.loads(orjson.dumps(page, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z))
    typed = ProjectPage.model_validate(fast)
    assert typed.items[0].created_at == naive.replace(tzinfo=UTC)
    assert fast == json.loads(typed.model_dump_json())


def test_bench_prints_one_json_object_last(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    figures = {"closed_loop": {}, "targets": {"writes_at_least_500": True}}
    monkeypatch.setattr(bench_api, "run", lambda concurrency, duration, rate: figures)
    bench_api.run_cli(as_json=True, concurrency=1, duration=1.0, rate=1.0)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == figures
