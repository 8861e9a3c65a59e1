"""The state store on a real PostgreSQL: the same exercise as on SQLite."""

from __future__ import annotations

from controlplane.store import StateStore
from tests.controlplane.test_controlplane_store import exercise


def test_postgres_store(postgres_url: str) -> None:
    store = StateStore(postgres_url)
    try:
        exercise(store)
    finally:
        store.close()
