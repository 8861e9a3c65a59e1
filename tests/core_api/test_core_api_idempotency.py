"""Idempotency-Key on creates: replay, misuse, keys in flight, the 24 h window, and a lost
response retried without creating twice (the create and its key commit together)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core_api.database import Database
from core_api.idempotency import (
    IdempotencyLedger,
    KeyedRequest,
    Recorded,
    check_key,
    fingerprint,
)
from core_api.models import ProjectRow, UserRow
from core_api.outbox import OutboxEvent
from core_api.schemas import ProjectCreate
from kernel.clock import FakeClock, utcnow
from kernel.settings import Settings

from .conftest import Api, open_api

NAME = "Storm barrier"
PROJECT = {"name": NAME, "country": "NLD", "sector": "water", "budget_usd": 70}
USER = {"name": "Ada", "email": "ada@example.org", "country": "GBR"}
DAY_S = 24 * 3600


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def count(settings: Settings, what: type[ProjectRow] | type[UserRow] | type[OutboxEvent],
          *where: object) -> int:
    db = Database.for_region(settings, "ams")
    try:
        with db.reads() as session:
            query = select(func.count()).select_from(what).where(*where)  # type: ignore[arg-type]
            return int(session.scalar(query) or 0)
    finally:
        db.dispose()


def projects_named(settings: Settings, name: str) -> int:
    return count(settings, ProjectRow, ProjectRow.name == name)


async def test_a_repeat_replays_the_first_response_and_creates_nothing(api: Api) -> None:
    first = await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    events = count(api.settings, OutboxEvent)
    again = await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"] == "/v1/projects/ams-83"
    assert again.headers["content-type"] == "application/json"
    assert projects_named(api.settings, NAME) == 1
    assert count(api.settings, OutboxEvent) == events  # no second event either
    other = await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-2"))
    assert other.json()["id"] == "ams-84"  # a new key is a new request


async def test_users_are_created_once_per_key(api: Api) -> None:
    first = await api.client.post("/v1/users", json=USER, headers=keyed("u-1"))
    again = await api.client.post("/v1/users", json=USER, headers=keyed("u-1"))
    assert (first.status_code, again.status_code) == (201, 201)  # not 409 "email taken"
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert count(api.settings, UserRow) == 1


async def test_the_same_key_for_another_request_is_422_naming_the_header(api: Api) -> None:
    await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    for path, body in (("/v1/projects", PROJECT | {"budget_usd": 71}), ("/v1/users", USER)):
        r = await api.client.post(path, json=body, headers=keyed("k-1"))
        assert r.status_code == 422, r.text
        (detail,) = r.json()["detail"]
        assert detail["loc"] == ["header", "idempotency-key"]
        assert "different request" in detail["msg"] and "send a new key" in detail["msg"]
    assert projects_named(api.settings, NAME) == 1
    assert count(api.settings, UserRow) == 0


@pytest.mark.parametrize("key", ["", "x" * 201, "caf\xe9", "tab\there"])
async def test_malformed_keys_are_422_naming_the_header(api: Api, key: str) -> None:
    r = await api.client.post("/v1/projects", json=PROJECT,
                              headers=[(b"Idempotency-Key", key.encode("latin-1"))])
    assert r.status_code == 422, r.text
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["header", "idempotency-key"] and "UUID" in detail["msg"]
    assert projects_named(api.settings, NAME) == 0


def test_key_checks_and_fingerprints() -> None:
    assert check_key("x" * 200) == "x" * 200
    assert check_key("a b~!") == "a b~!"
    base = fingerprint("POST", "/v1/projects", b'{"a":1}')
    assert base == fingerprint("post", "/v1/projects", b'{"a":1}')
    assert base != fingerprint("POST", "/v1/users", b'{"a":1}')
    assert base != fingerprint("POST", "/v1/projects", b'{"a":2}')
    # Lengths are part of the digest: moving bytes between the parts changes it.
    assert fingerprint("POST", "/v1/x", b"y") != fingerprint("POST", "/v1/", b"xy")


async def test_refused_requests_are_not_remembered(api: Api) -> None:
    wrong = await api.client.post("/v1/projects", json=PROJECT | {"country": "USA"},
                                  headers=keyed("k-1"))
    assert wrong.status_code == 421
    fixed = await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


async def test_a_key_in_flight_is_409_with_retry_after(api: Api,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = api.app.state.services.projects
    entered, release = threading.Event(), threading.Event()
    real_create = store.create_in

    def held_create(session: Session, body: ProjectCreate) -> object:
        entered.set()
        assert release.wait(10), "the test never released the first request"
        return real_create(session, body)

    monkeypatch.setattr(store, "create_in", held_create)
    first = asyncio.create_task(
        api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1")))
    assert await asyncio.to_thread(entered.wait, 10)
    try:
        second = await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    finally:
        release.set()
    assert second.status_code == 409 and second.headers["retry-after"] == "1"
    assert "still being processed" in second.json()["detail"]
    assert (await first).status_code == 201
    third = await api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    assert third.headers["idempotent-replayed"] == "true"
    assert projects_named(api.settings, NAME) == 1


class LosesResponses(httpx.AsyncBaseTransport):
    """Lets the app handle the request to the end (it commits), then resets the connection
    instead of delivering the answer: the client cannot know whether it was created."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        await response.aclose()
        self.lost += 1
        raise httpx.ReadError("connection reset by peer", request=request)


async def post_retrying(api: Api, headers: dict[str, str]) -> httpx.Response:
    """The first attempt loses its response; the retry goes out on a healthy connection."""
    flaky = LosesResponses(httpx.ASGITransport(app=api.app))
    async with httpx.AsyncClient(transport=flaky, base_url="http://ams.test") as client:
        with pytest.raises(httpx.ReadError):
            await client.post("/v1/projects", json=PROJECT, headers=headers)
    assert flaky.lost == 1
    return await api.client.post("/v1/projects", json=PROJECT, headers=headers)


async def test_a_retry_after_a_lost_response_creates_exactly_one(api: Api) -> None:
    retried = await post_retrying(api, keyed("9b2f6c1e-retry"))
    assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
    assert retried.json()["id"] == "ams-83"
    assert projects_named(api.settings, NAME) == 1


async def test_without_a_key_the_same_retry_creates_twice(api: Api) -> None:
    """The control for the test above: the lost response really did commit."""
    retried = await post_retrying(api, {})
    assert retried.status_code == 201 and retried.json()["id"] == "ams-84"
    assert projects_named(api.settings, NAME) == 2


@pytest.fixture()
async def forgetful_api(core_settings: Settings, monkeypatch: pytest.MonkeyPatch
                        ) -> AsyncIterator[Api]:
    """An API that fails to store the response after the create ran in the transaction."""

    def remember_fails(*_args: object) -> None:
        raise RuntimeError("disk full while storing the response")

    monkeypatch.setattr(IdempotencyLedger, "remember", remember_fails)
    async for opened in open_api(core_settings, raise_app_exceptions=False):
        yield opened


async def test_the_create_and_its_key_commit_together(forgetful_api: Api) -> None:
    r = await forgetful_api.client.post("/v1/projects", json=PROJECT, headers=keyed("k-1"))
    assert r.status_code == 500
    assert projects_named(forgetful_api.settings, NAME) == 0
    assert count(forgetful_api.settings, OutboxEvent) == 0


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
async def timed_api(core_settings: Settings, clock: FakeClock) -> AsyncIterator[Api]:
    async for opened in open_api(core_settings, clock=clock):
        yield opened


async def test_keys_expire_after_24_hours_and_are_pruned(timed_api: Api,
                                                         clock: FakeClock) -> None:
    ledger = timed_api.app.state.services.ledger
    await timed_api.client.post("/v1/projects", json=PROJECT, headers=keyed("old"))
    clock.advance(DAY_S - 1)
    within = await timed_api.client.post("/v1/projects", json=PROJECT, headers=keyed("old"))
    assert within.headers["idempotent-replayed"] == "true"
    clock.advance(2)
    # Past 24 h the key is free: another body is a new create, not a 422.
    later = await timed_api.client.post("/v1/projects", json=PROJECT | {"budget_usd": 1},
                                        headers=keyed("old"))
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert ledger.count() == 1
    await timed_api.client.post("/v1/projects", json=PROJECT, headers=keyed("newer"))
    assert ledger.count() == 2
    clock.advance(DAY_S + 1)
    await timed_api.client.post("/v1/projects", json=PROJECT, headers=keyed("newest"))
    assert ledger.count() == 1  # the two expired keys went with this write


def test_prune_deletes_only_this_regions_expired_keys(core_settings: Settings) -> None:
    clock = FakeClock()
    db = Database.for_region(core_settings, "ams")
    ams, iad = IdempotencyLedger(db, "ams", clock), IdempotencyLedger(db, "iad", clock)
    response = Recorded(201, b"{}", ())
    try:
        with db.write() as session:
            for ledger in (ams, iad):
                ledger.remember(session, KeyedRequest("k", "f"), response, utcnow(clock))
        clock.advance(DAY_S)
        with db.write() as session:
            assert ams.prune(session, utcnow(clock)) == 1
        assert (ams.count(), iad.count()) == (0, 1)
    finally:
        db.dispose()
