"""Fixtures for the real services on loopback. A missing service fails the test loudly."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
NATS_URL = "nats://127.0.0.1:4222"


def _require(port: int, what: str, start_hint: str) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return
    except OSError as exc:
        pytest.fail(
            f"{what} is not answering on 127.0.0.1:{port} ({exc}). "
            f"Run `bash scripts/ensure-services.sh` (or: {start_hint}).",
            pytrace=False,
        )


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    _require(5432, "PostgreSQL", "pg_ctlcluster 15 main start")
    import sqlalchemy as sa

    name = f"covenant_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture()
def redis_url() -> str:
    _require(6379, "Redis", "redis-server --daemonize yes --port 6379")
    return REDIS_URL


@pytest.fixture()
def nats_url() -> str:
    _require(4222, "NATS", "nats-server -js -p 4222")
    return NATS_URL


@pytest.fixture()
def unique() -> str:
    """A short unique token for stream names, subjects and keys shared with other tests."""
    return uuid.uuid4().hex[:10]
