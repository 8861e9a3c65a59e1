"""Through the front door only, on the real stack: each region's projects and users
created, read, updated and deleted without the client knowing where they live; the
cross-region user search and the global list; a region taken down answers its writes and
reads with 503 + Retry-After (counted for its SLO) and serves them once back; and a write
whose connection is reset after the origin committed exists exactly once."""

from __future__ import annotations

import uuid

import httpx

from core_api.contract import region_of_id
from tests.integration.frontdoor.conftest import (
    COUNTRY,
    Running,
    project,
    retry_until_served,
)

REGIONS = tuple(COUNTRY)


async def _crud(door: httpx.AsyncClient, region: str) -> None:
    served = ("x-covenant-served-by", region)
    r = await door.post("/v1/projects", json=project(region, f"crud {region}"))
    assert r.status_code == 201, r.text
    assert (r.headers["x-covenant-served-by"], r.headers["x-covenant-home"]) == (region, region)
    pid = r.json()["id"]
    assert region_of_id(pid) == region, pid
    r = await door.get(f"/v1/projects/{pid}")
    assert (r.status_code, r.json()["country"]) == (200, COUNTRY[region])
    r = await door.patch(f"/v1/projects/{pid}", json={"progress": 40})
    assert (r.status_code, r.json()["progress"], (served[0], r.headers[served[0]])) == \
        (200, 40, served)
    assert (await door.delete(f"/v1/projects/{pid}")).status_code == 204
    assert (await door.get(f"/v1/projects/{pid}")).status_code == 404

    email = f"crud-{region}-{uuid.uuid4().hex[:8]}@example.org"
    r = await door.post("/v1/users", json={"name": f"U {region}", "email": email,
                                           "country": COUNTRY[region]})
    assert (r.status_code, r.headers["x-covenant-served-by"]) == (201, region), r.text
    uid = r.json()["id"]
    assert region_of_id(uid) == region
    # The GDPR search: one address, asked of every region, found where the person lives.
    r = await door.get("/v1/users", params={"email": email})
    assert r.status_code == 200 and [u["id"] for u in r.json()["items"]] == [uid]
    r = await door.patch(f"/v1/users/{uid}", json={"name": "Renamed"})
    assert (r.status_code, r.json()["name"]) == (200, "Renamed")
    assert (await door.delete(f"/v1/users/{uid}")).status_code == 204
    assert (await door.get(f"/v1/users/{uid}")).status_code == 404


async def test_data_is_routed_by_its_home(running: Running) -> None:
    door = running.door
    for region in REGIONS:
        await _crud(door, region)
    # A list without a country is every region's, merged: totals add up.
    totals = [(await door.get("/v1/projects", params={"country": c, "limit": 1})).json()["total"]
              for c in COUNTRY.values()]
    merged = (await door.get("/v1/projects", params={"limit": 5, "offset": 3})).json()
    assert merged["total"] >= sum(totals) and len(merged["items"]) == 5
    # Reference data still comes from the country's home.
    r = await door.get("/v1/countries/AUS")
    assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "syd")


async def test_a_region_down_answers_503_and_serves_once_back(running: Running) -> None:
    door = running.door
    r = await door.post("/v1/users", json={"name": "Before", "email": "before@example.org",
                                           "country": "AUS"})
    uid = r.json()["id"]
    await running.faults.inject("proxy_disabled", "syd")
    await running.wait_away("syd")

    r = await door.post("/v1/projects", json=project("syd", "while down"))
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["region"] == "syd" and "sin" in r.json()["detail"]
    assert (await door.get(f"/v1/users/{uid}")).status_code == 503
    assert (await door.get("/v1/users", params={"email": "before@example.org"})
            ).status_code == 503  # a search that would miss syd's users
    r = await door.get("/v1/countries/AUS")  # replicated data: its nearest serves it
    assert (r.status_code, r.headers["x-covenant-served-by"]) == (200, "sin")
    # Nothing of syd's was written anywhere else.
    sin = (await door.get("/v1/projects", params={"country": "SGP", "limit": 200})).json()
    assert all(p["name"] != "while down" for p in sin["items"])
    # Counted for syd's availability SLO, in the core API's metric and labels.
    metrics = (await door.get("/_frontdoor/metrics")).text
    assert ('http_requests_total{region="syd",route="/v1/projects",method="POST",'
            'status="503",source="frontdoor"} 1') in metrics
    assert 'covenant_frontdoor_unavailable_total{home="syd",reason="region_down"}' in metrics

    await running.faults.restore("proxy_disabled", "syd")
    r = await retry_until_served(
        lambda: door.post("/v1/projects", json=project("syd", "after retry")), "syd write")
    assert (r.status_code, r.headers["x-covenant-served-by"]) == (201, "syd"), r.text
    assert (await door.get(f"/v1/users/{uid}")).status_code == 200


async def _count(door: httpx.AsyncClient, country: str, name: str) -> int:
    page = (await door.get("/v1/projects", params={"country": country, "limit": 200})).json()
    assert page["total"] <= 200, "more projects than one page: count with offsets"
    return sum(p["name"] == name for p in page["items"])


async def test_a_write_reset_after_commit_exists_exactly_once(running: Running) -> None:
    """The connection breaks after syd committed (a reset_peer toxic on syd's responses):
    with an Idempotency-Key the front door retries at home and then answers 503; the
    client's retry with the same key gets the first answer; without a key the front door
    does not repeat the write."""
    door, tox = running.door, running.stack.toxiproxy
    assert tox is not None
    keyed, unkeyed = f"keyed {uuid.uuid4().hex[:8]}", f"unkeyed {uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    await tox.add_toxic("syd_api", "reset_peer", name="after_commit", stream="downstream",
                        attributes={"timeout": 0})
    try:
        r = await door.post("/v1/projects", json=project("syd", keyed),
                            headers={"idempotency-key": key})
        assert r.status_code == 503, r.text  # retried at home, every answer lost
        r = await door.post("/v1/projects", json=project("syd", unkeyed))
        assert r.status_code == 502 and "may have been applied" in r.json()["detail"]
    finally:
        await tox.remove_toxic("syd_api", "after_commit")
    await running.wait_home("syd")
    r = await retry_until_served(lambda: door.post(
        "/v1/projects", json=project("syd", keyed), headers={"idempotency-key": key}),
        "the keyed retry")
    assert r.status_code == 201, r.text
    assert r.headers.get("idempotent-replayed") == "true"  # the first attempt's answer
    assert await _count(door, "AUS", keyed) == 1
    assert await _count(door, "AUS", unkeyed) == 1
