"""The Alertmanager webhook's hot route (a plain Starlette route ahead of FastAPI's) answers
every delivery as the FastAPI route does and tells the same outcomes; the guard it checks
keys with keeps a verified key only while no key changed anywhere; the change count is read
once for the callers that came together, never from a read older than the caller."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from controlplane.access import Role
from controlplane.alert_webhook import PATH, webhook_route, webhook_router
from controlplane.auth import Guard, SharedRead
from controlplane.keys import KeyInfo, KeyStore
from controlplane.runs_api import RunbookDesk
from runbooks.dispatch import AlertNotice, Dispatcher, Outcome
from runbooks.errors import JournalError
from tests.runbooks.fakes import rig
from tests.runbooks.test_runbooks_executor import FAILOVER
from tests.waiting import eventually


def _note(alertname: str = "NoRunbookForThis") -> bytes:
    return json.dumps({"version": "4", "groupKey": "{}", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": alertname, "region": "syd"},
         "startsAt": "2026-12-07T10:00:00Z", "fingerprint": "f1"}]}).encode()


@pytest.mark.parametrize("served_by", ["hot route", "fastapi route"])
async def test_both_routes_answer_and_count_every_outcome_alike(served_by: str) -> None:
    r = rig(FAILOVER)
    executor = r.executor()
    leading = [True]
    desk = RunbookDesk(r.runbooks, r.journal, executor,
                       Dispatcher(r.runbooks, executor, r.journal), leading=lambda: leading[0])
    told: list[str] = []
    app = FastAPI()
    if served_by == "hot route":
        app.router.routes.insert(0, webhook_route(desk, None, told.append))
    else:
        app.include_router(webhook_router(desk, told.append))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://cp.test") as client:
        ok = await client.post(PATH, content=_note())
        malformed = await client.post(PATH, content=b"{not json")
        leading[0] = False
        standby = await client.post(PATH, content=_note())
        leading[0] = True

        async def broken(alert: AlertNotice) -> list[Outcome]:
            raise JournalError("database is locked")

        desk.dispatcher.on_alert = broken  # type: ignore[method-assign]
        unavailable = await client.post(PATH, content=_note())
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/json"
    assert ok.json() == {"alerts": 1, "outcomes": [{
        "alert": "NoRunbookForThis", "fingerprint": "f1", "status": "firing", "runbook": None,
        "decision": "none", "run": None, "reason": "no runbook is triggered by it"}]}
    assert malformed.status_code == 400
    assert malformed.json()["detail"].startswith(
        "malformed Alertmanager notification: the body is not JSON")
    assert standby.status_code == 503 and standby.headers["retry-after"] == "1"
    assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "5"
    assert "the runbook journal is unavailable (database is locked)" in \
        unavailable.json()["detail"]
    assert told == ["accepted", "malformed", "not_leader", "journal_unavailable"]


class CountingKeys(KeyStore):
    """The key store, counting the keys it looks up."""

    looked_up = 0

    def authenticate(self, token: str) -> KeyInfo | None:
        self.looked_up += 1
        return super().authenticate(token)


async def test_a_verified_key_is_read_again_only_after_a_key_changed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    keys = CountingKeys(url)
    _, token = keys.create("am", Role.ALERTMANAGER, [], "test")
    guard, sent = Guard(keys), f"Bearer {token}"
    for _ in range(3):
        assert (await guard.check("POST", PATH, sent)) is not None
    assert keys.looked_up == 1
    other = KeyStore(url)  # another process: `covenant keys ...` writes the store directly
    other.set_role("am", "auditor", "cli:ops")
    with pytest.raises(HTTPException) as refused:
        await guard.check("POST", PATH, sent)
    assert refused.value.status_code == 403 and "role auditor may not" in refused.value.detail
    other.create("someone-else", Role.SRE, [], "cli:ops")  # any change: read it again
    assert (await guard.check("GET", "/v1/runs", sent)) is not None
    assert keys.looked_up == 3
    other.revoke("am", "cli:ops")
    with pytest.raises(HTTPException) as revoked:
        await guard.check("GET", "/v1/runs", sent)
    assert revoked.value.status_code == 401 and "(am) was revoked" in revoked.value.detail
    other.close()
    keys.close()


async def test_callers_share_a_read_that_began_after_they_called() -> None:
    committed, reads = [1], []
    release, reading = threading.Event(), threading.Event()

    def read() -> int:
        seen = committed[0]
        reads.append(seen)
        reading.set()
        assert release.wait(10), "the test never released the read"
        return seen

    shared = SharedRead(read)
    release.set()
    assert await asyncio.gather(*(shared.get() for _ in range(5))) == [1] * 5
    assert reads == [1]  # five callers, one read

    release.clear()
    reading.clear()
    first = asyncio.create_task(shared.get())
    await eventually(reading.is_set, "the first read to begin")
    committed[0] = 2  # a change committed while that read runs
    later = [asyncio.create_task(shared.get()) for _ in range(3)]
    release.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2, 2, 2]  # not the read that began before them
    assert reads == [1, 1, 2]
