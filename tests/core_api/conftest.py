"""Fixtures for the core API: a migrated, seeded SQLite copy per test and an ASGI client."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from core_api.app import create_app
from core_api.prepare import prepare_region
from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.settings import Settings

TEMPLATE_REGIONS = ("ams", "iad")


def make_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=None, nats_url=None, redis_url=None)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated and seeded once per session; each test copies the files (milliseconds)."""
    data_dir = tmp_path_factory.mktemp("core_api_template")
    for region in TEMPLATE_REGIONS:
        prepare_region(make_settings(data_dir), region)
    return data_dir


@pytest.fixture()
def core_settings(tmp_path: Path, seeded_template: Path) -> Settings:
    for region in TEMPLATE_REGIONS:
        name = f"core_{region}.sqlite3"
        shutil.copyfile(seeded_template / name, tmp_path / name)
    return make_settings(tmp_path)


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings


async def open_api(settings: Settings, region: str = "ams", raise_app_exceptions: bool = True,
                   clock: Clock = SYSTEM_CLOCK) -> AsyncIterator[Api]:
    app = create_app(settings, region, clock=clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=transport, base_url=f"http://{region}.test"
    ) as client:
        yield Api(app, client, settings)


@pytest.fixture()
async def api(core_settings: Settings) -> AsyncIterator[Api]:
    """The ams API on its own seeded SQLite file, lifespan (event pipeline) running."""
    async for opened in open_api(core_settings):
        yield opened
