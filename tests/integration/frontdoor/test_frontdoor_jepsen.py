"""A Jepsen-style check through the front door: clients keep writing projects with
idempotency keys (retrying each key until it is acknowledged) while regions are taken down
and brought back — proxy disabled, requests reset before they reach the API, answers reset
after the API committed. At the end every acknowledged write is in its home region exactly
once, and no write is anywhere twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.integration.frontdoor.conftest import COUNTRY, Running, project
from tests.waiting import eventually

WRITERS = ("syd", "sin", "iad")
AFTER_COMMIT = "after_commit"


@dataclass
class History:
    attempted: dict[str, str] = field(default_factory=dict)             # key -> home
    acked: dict[str, tuple[str, str]] = field(default_factory=dict)    # key -> (home, id)
    answers: Counter[int] = field(default_factory=Counter)              # status (0: no answer)

    def acks(self, region: str) -> int:
        return sum(home == region for home, _ in self.acked.values())


async def _writer(door: httpx.AsyncClient, region: str, history: History,
                  stop: asyncio.Event) -> None:
    while not stop.is_set():
        key = str(uuid.uuid4())
        history.attempted[key] = region
        while True:
            try:
                r = await door.post("/v1/projects", json=project(region, f"jepsen {key}"),
                                    headers={"idempotency-key": key}, timeout=5)
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            history.answers[status] += 1
            if status == 201:
                history.acked[key] = (region, r.json()["id"])
                break
            assert status in (0, 409, 502, 503, 504), f"{region}: {status} {r.text}"
            if stop.is_set():
                break  # unacknowledged: may exist at most once
            await asyncio.sleep(0.05)


async def _inject(running: Running, fault: str, region: str) -> None:
    tox = running.stack.toxiproxy
    assert tox is not None
    if fault == AFTER_COMMIT:
        await tox.add_toxic(f"{region}_api", "reset_peer", name=AFTER_COMMIT,
                            stream="downstream", attributes={"timeout": 0})
    else:
        await running.faults.inject(fault, region)


async def _restore(running: Running, fault: str, region: str) -> None:
    tox = running.stack.toxiproxy
    assert tox is not None
    if fault == AFTER_COMMIT:
        await tox.remove_toxic(f"{region}_api", AFTER_COMMIT)
    else:
        await running.faults.restore(fault, region)


async def _fault_cycle(running: Running, history: History, fault: str, region: str) -> None:
    """Down, the others keep being acknowledged; back, this one is acknowledged again."""
    before = {r: history.acks(r) for r in WRITERS}
    others = [r for r in WRITERS if r != region]
    await _inject(running, fault, region)
    await running.wait_away(region)
    await eventually(lambda: all(history.acks(r) >= before[r] + 5 for r in others),
                     f"{fault} on {region}: the other regions keep writing", 20)
    await _restore(running, fault, region)
    await running.wait_home(region)
    await eventually(lambda: history.acks(region) >= before[region] + 5,
                     f"{region} writes acknowledged again", 30)


async def _names(door: httpx.AsyncClient, country: str) -> Counter[str]:
    names: Counter[str] = Counter()
    offset = 0
    while True:
        page = (await door.get("/v1/projects", params={"country": country, "limit": 200,
                                                        "offset": offset})).json()
        names.update(p["name"] for p in page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return names


async def test_acknowledged_writes_survive_region_faults_exactly_once(running: Running) -> None:
    door, history, stop = running.door, History(), asyncio.Event()
    writers = [asyncio.create_task(_writer(door, r, history, stop)) for r in WRITERS]
    try:
        for fault, region in (("proxy_disabled", "syd"), ("connection_resets", "sin"),
                              (AFTER_COMMIT, "iad"), ("proxy_disabled", "sin")):
            await _fault_cycle(running, history, fault, region)
    finally:
        stop.set()
        await asyncio.gather(*writers)

    assert history.answers[503] > 0, history.answers  # the faults were seen as 503s
    for region in WRITERS:
        names = await _names(door, COUNTRY[region])
        mine = {k for k, home in history.attempted.items() if home == region}
        twice = [k for k in mine if names[f"jepsen {k}"] > 1]
        assert twice == [], f"{region}: written more than once: {twice[:5]}"
        lost = [k for k in mine if k in history.acked and names[f"jepsen {k}"] != 1]
        assert lost == [], f"{region}: acknowledged but not there: {lost[:5]}"
    for key, (home, pid) in list(history.acked.items())[::25]:  # and readable by their id
        r = await door.get(f"/v1/projects/{pid}")
        assert (r.status_code, r.json()["region"], r.json()["name"]) == \
            (200, home, f"jepsen {key}")
