"""Projects and users: CRUD, residency, pagination bounds, 404/409/422."""

from __future__ import annotations

NEW_PROJECT = {"name": "Solar farm Lyon", "country": "FRA", "sector": "energy",
               "budget_usd": 12_000_000, "beneficiaries": 40_000, "progress": 5}


def fields(r) -> list[object]:
    assert r.status_code == 422, r.text
    return [d["loc"][-1] for d in r.json()["detail"]]


async def test_projects_list_pages_and_filters(api) -> None:
    page = (await api.client.get("/v1/projects")).json()
    assert (page["total"], page["limit"], len(page["items"])) == (82, 50, 50)
    ids = [p["id"] for p in page["items"]]
    assert ids == sorted(ids)
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
    assert fields(wrong_region) == ["country"] and "iad" in wrong_region.text
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
    assert (await api.client.get("/v1/projects/0")).status_code == 422
    assert (await api.client.get("/v1/projects/999999")).status_code == 404
    assert (await api.client.patch("/v1/projects/999999", json={"progress": 1})).status_code \
        == 404
    assert fields(await api.client.patch("/v1/projects/1", json={"country": "USA"})) \
        == ["country"]


async def test_user_crud_in_home_region(api) -> None:
    r = await api.client.post("/v1/users", json={"name": "Ada Lovelace",
                                                 "email": "Ada@Example.org", "country": "GBR"})
    assert r.status_code == 201, r.text
    user = r.json()
    assert (user["region"], user["email"]) == ("ams", "ada@example.org")
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
    assert fields(us) == ["country"] and "iad" in us.text
    assert fields(await api.client.post("/v1/users", json=first | {"email": "nope"})) == ["email"]
    assert fields(await api.client.patch(f"/v1/users/{other.json()['id']}",
                                         json={"country": "DEU"})) == ["country"]
    assert (await api.client.patch("/v1/users/424242", json={"name": "x"})).status_code == 404
