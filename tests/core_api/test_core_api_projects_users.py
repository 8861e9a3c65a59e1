"""Projects and users: CRUD, residency (421), pagination bounds, 404/409/422."""

from __future__ import annotations

from .conftest import open_api

NEW_PROJECT = {"name": "Solar farm Lyon", "country": "FRA", "sector": "energy",
               "budget_usd": 12_000_000, "beneficiaries": 40_000, "progress": 5}


def fields(r) -> list[object]:
    assert r.status_code == 422, r.text
    return [d["loc"][-1] for d in r.json()["detail"]]


async def test_projects_list_pages_and_filters(api) -> None:
    page = (await api.client.get("/v1/projects")).json()
    assert (page["total"], page["limit"], len(page["items"])) == (82, 50, 50)
    ids = [p["id"] for p in page["items"]]
    assert ids == [f"ams-{n}" for n in range(1, 51)]  # the seed's, in number order
    rest = (await api.client.get("/v1/projects?offset=50&limit=50")).json()
    assert len(rest["items"]) == 32 and rest["total"] == 82
    beyond = (await api.client.get("/v1/projects?offset=500")).json()
    assert beyond["items"] == [] and beyond["total"] == 82
    energy = (await api.client.get("/v1/projects?sector=energy&limit=200")).json()
    assert energy["total"] >= 13 and {p["sector"] for p in energy["items"]} == {"energy"}
    fra = (await api.client.get("/v1/projects?country=FRA")).json()
    assert fra["total"] >= 1 and {p["country"] for p in fra["items"]} == {"FRA"}
    done = (await api.client.get("/v1/projects?status=completed&limit=200")).json()
    assert {p["status"] for p in done["items"]} <= {"completed"}
    assert fields(await api.client.get("/v1/projects?limit=201")) == ["limit"]
    assert fields(await api.client.get("/v1/projects?country=fra")) == ["country"]
    assert fields(await api.client.get("/v1/projects?sector=fishing")) == ["sector"]


async def test_project_crud(api) -> None:
    created = await api.client.post("/v1/projects", json=NEW_PROJECT)
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["region"] == "ams" and project["status"] == "planned"
    assert project["id"] == "ams-83"  # after the 82 seeded projects
    assert created.headers["location"] == "/v1/projects/ams-83"
    assert project["created_at"].endswith("Z")
    got = await api.client.get(f"/v1/projects/{project['id']}")
    assert got.json() == project
    patched = await api.client.patch(f"/v1/projects/{project['id']}",
                                     json={"progress": 40, "status": "active"})
    assert patched.status_code == 200
    assert (patched.json()["progress"], patched.json()["status"]) == (40, "active")
    assert patched.json()["updated_at"] >= project["updated_at"]
    assert (await api.client.delete(f"/v1/projects/{project['id']}")).status_code == 204
    assert (await api.client.get(f"/v1/projects/{project['id']}")).status_code == 404
    assert (await api.client.delete(f"/v1/projects/{project['id']}")).status_code == 404


async def test_project_bad_input(api) -> None:
    wrong_region = await api.client.post("/v1/projects", json=NEW_PROJECT | {"country": "USA"})
    assert wrong_region.status_code == 421
    assert wrong_region.json() == {"home_region": "iad", "detail": (
        "country: USA (United States) lives in region iad, not ams; send this request to "
        "the iad API")}
    assert wrong_region.headers["x-covenant-home"] == "iad"
    missing = dict(NEW_PROJECT)
    del missing["budget_usd"]
    assert fields(await api.client.post("/v1/projects", json=missing)) == ["budget_usd"]
    assert fields(await api.client.post("/v1/projects", json=NEW_PROJECT | {"progress": 101})) \
        == ["progress"]
    assert fields(await api.client.post("/v1/projects", json=NEW_PROJECT | {"x": 1})) == ["x"]
    assert fields(await api.client.post("/v1/projects", json=NEW_PROJECT | {"name": "a\x00b"})) \
        == ["name"]
    assert fields(await api.client.post("/v1/projects", json=NEW_PROJECT | {"budget_usd": -1})) \
        == ["budget_usd"]
    not_json = await api.client.post("/v1/projects", content=b"{", headers={
        "content-type": "application/json"})
    assert not_json.status_code == 422
    assert (await api.client.get("/v1/projects/ams-0")).status_code == 422
    assert (await api.client.get("/v1/projects/ams-999999")).status_code == 404
    assert (await api.client.patch("/v1/projects/ams-999999", json={"progress": 1})
            ).status_code == 404
    moved = await api.client.patch("/v1/projects/ams-1", json={"country": "USA"})
    assert fields(moved) == ["country"] and "cannot move to another region" in moved.text


async def test_user_crud_in_home_region(api) -> None:
    r = await api.client.post("/v1/users", json={"name": "Ada Lovelace",
                                                 "email": "Ada@Example.org", "country": "GBR"})
    assert r.status_code == 201, r.text
    user = r.json()
    assert (user["region"], user["email"], user["id"]) == ("ams", "ada@example.org", "ams-1")
    assert r.headers["location"] == "/v1/users/ams-1"
    assert (await api.client.get(f"/v1/users/{user['id']}")).json() == user
    listed = (await api.client.get("/v1/users?country=GBR")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == user["id"]
    assert (await api.client.get("/v1/users?country=FRA")).json()["total"] == 0
    renamed = await api.client.patch(f"/v1/users/{user['id']}", json={"name": "Ada King"})
    assert renamed.json()["name"] == "Ada King"
    assert (await api.client.delete(f"/v1/users/{user['id']}")).status_code == 204
    assert (await api.client.get(f"/v1/users/{user['id']}")).status_code == 404
    assert (await api.client.delete(f"/v1/users/{user['id']}")).status_code == 404


async def test_user_duplicates_and_residency(api) -> None:
    first = {"name": "Grace", "email": "grace@example.org", "country": "NLD"}
    assert (await api.client.post("/v1/users", json=first)).status_code == 201
    dup = await api.client.post("/v1/users", json=first | {"email": "GRACE@example.org"})
    assert dup.status_code == 409 and "email" in dup.json()["detail"]
    other = await api.client.post("/v1/users", json=first | {"email": "g2@example.org"})
    taken = await api.client.patch(f"/v1/users/{other.json()['id']}",
                                   json={"email": "grace@example.org"})
    assert taken.status_code == 409
    us = await api.client.post("/v1/users", json=first | {"email": "x@y.org", "country": "USA"})
    assert us.status_code == 421 and us.json()["home_region"] == "iad"
    assert fields(await api.client.post("/v1/users", json=first | {"email": "nope"})) == ["email"]
    assert fields(await api.client.patch(f"/v1/users/{other.json()['id']}",
                                         json={"country": "DEU"})) == ["country"]
    assert (await api.client.patch("/v1/users/ams-424242", json={"name": "x"})).status_code \
        == 404


async def test_user_search_by_exact_email_in_this_region(api) -> None:
    grace = (await api.client.post("/v1/users", json={
        "name": "Grace", "email": "Grace.Hopper@Example.org", "country": "NLD"})).json()
    await api.client.post("/v1/users", json={"name": "Ada", "email": "ada@example.org",
                                             "country": "GBR"})
    for query in ("grace.hopper@example.org", "GRACE.HOPPER@example.ORG"):
        found = (await api.client.get("/v1/users", params={"email": query})).json()
        assert (found["items"], found["total"]) == ([grace], 1), query
    for query in ("hopper@example.org", "nobody@example.org"):
        none = (await api.client.get("/v1/users", params={"email": query})).json()
        assert (none["items"], none["total"]) == ([], 0), query
    other_country = await api.client.get("/v1/users", params={
        "email": "grace.hopper@example.org", "country": "GBR"})
    assert other_country.json()["items"] == []
    assert fields(await api.client.get("/v1/users", params={"email": "grace"})) == ["email"]


async def test_user_search_answers_for_its_own_region_only(core_settings) -> None:
    async for ams in open_api(core_settings, "ams"):
        await ams.client.post("/v1/users", json={"name": "Ada", "email": "ada@example.org",
                                                 "country": "GBR"})
    async for iad in open_api(core_settings, "iad"):
        found = await iad.client.get("/v1/users", params={"email": "ada@example.org"})
        assert found.status_code == 200 and found.json()["items"] == []
