"""Every committed change writes exactly one outbox row in its transaction; nothing else does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from core_api import projects as projects_module
from core_api.database import Database
from core_api.models import ProjectRow
from core_api.outbox import OutboxEvent
from kernel.settings import Settings
from tests.waiting import eventually

from .conftest import Api, open_api

PROJECT = {"name": "Reservoir", "country": "ESP", "sector": "water", "budget_usd": 9}


def outbox(settings: Settings) -> list[tuple[str, dict[str, object], bool]]:
    db = Database.for_region(settings, "ams")
    try:
        with db.reads() as session:
            rows = session.execute(select(OutboxEvent.subject, OutboxEvent.payload,
                                          OutboxEvent.published_at).order_by(OutboxEvent.seq))
            return [(s, json.loads(p), at is not None) for s, p, at in rows]
    finally:
        db.dispose()


def project_count(settings: Settings) -> int:
    db = Database.for_region(settings, "ams")
    try:
        with db.reads() as session:
            return session.scalar(select(func.count()).select_from(ProjectRow)) or 0
    finally:
        db.dispose()


async def test_one_event_per_committed_change(api: Api) -> None:
    created = (await api.client.post("/v1/projects", json=PROJECT)).json()
    pid = created["id"]
    await api.client.patch(f"/v1/projects/{pid}", json={"progress": 50})
    await api.client.patch(f"/v1/projects/{pid}", json={"progress": 50})  # no change, no event
    await api.client.delete(f"/v1/projects/{pid}")
    user = (await api.client.post("/v1/users", json={"name": "Lin", "email": "lin@x.org",
                                                     "country": "SWE"})).json()
    await api.client.patch(f"/v1/users/{user['id']}", json={"email": "lin2@x.org"})
    await api.client.delete(f"/v1/users/{user['id']}")
    events = outbox(api.settings)
    assert [s for s, _, _ in events] == [
        "covenant.ams.project.created", "covenant.ams.project.updated",
        "covenant.ams.project.deleted", "covenant.ams.user.created",
        "covenant.ams.user.updated", "covenant.ams.user.deleted",
    ]
    first = events[0][1]
    assert first["entity"] == "project" and first["verb"] == "created"
    assert first["data"]["id"] == pid and first["data"]["country"] == "ESP"
    assert events[1][1]["data"]["changed"] == ["progress"]
    # Personal data stays in the region's database; events carry only ids.
    assert "lin" not in json.dumps([p for s, p, _ in events if ".user." in s])


async def test_failed_requests_write_no_event(api: Api) -> None:
    await api.client.post("/v1/users", json={"name": "A", "email": "a@x.org", "country": "FRA"})
    before = len(outbox(api.settings))
    responses = [
        await api.client.post("/v1/projects", json=PROJECT | {"country": "USA"}),
        await api.client.post("/v1/projects", json=PROJECT | {"budget_usd": -5}),
        await api.client.patch("/v1/projects/ams-999999", json={"progress": 1}),
        await api.client.delete("/v1/projects/ams-999999"),
        await api.client.post("/v1/users", json={"name": "B", "email": "A@x.org",
                                                 "country": "FRA"}),
    ]
    assert [r.status_code for r in responses] == [421, 422, 404, 404, 409]
    assert len(outbox(api.settings)) == before


@pytest.fixture()
async def fragile_api(core_settings: Settings, monkeypatch: pytest.MonkeyPatch
                      ) -> AsyncIterator[Api]:
    """An API whose project writes fail after enqueueing, before the commit."""
    real = projects_module.enqueue

    def enqueue_then_fail(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(projects_module, "enqueue", enqueue_then_fail)
    async for opened in open_api(core_settings, raise_app_exceptions=False):
        yield opened


async def test_rolled_back_change_writes_no_event(fragile_api: Api) -> None:
    before = project_count(fragile_api.settings)
    r = await fragile_api.client.post("/v1/projects", json=PROJECT)
    assert r.status_code == 500
    assert outbox(fragile_api.settings) == []
    assert project_count(fragile_api.settings) == before


async def test_the_lifespan_relay_publishes_committed_events(api: Api) -> None:
    for i in range(5):
        await api.client.post("/v1/projects", json=PROJECT | {"name": f"R{i}"})
    await eventually(lambda: all(published for _, _, published in outbox(api.settings)),
                     "the relay to publish", 10, interval=0.05)
    assert len(outbox(api.settings)) == 5
