"""Ids name their region ("ams-83"): parsing, 404 naming the holder, 422 naming the form,
deterministic seeded ids whatever the database layout, no reuse, string ids in events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from core_api.contract import region_of_id
from core_api.database import Database
from core_api.errors import InvalidFieldError, NotFoundError
from core_api.ids import ID_PATTERN, MAX_NUMBER, parse_id
from core_api.models import ProjectRow
from core_api.outbox import OutboxEvent
from core_api.prepare import seed_regions, upgrade_regions
from kernel.settings import Settings

from .conftest import Api

PROJECT = {"name": "Dyke", "country": "NLD", "sector": "water", "budget_usd": 5}
USER = {"name": "Ada", "email": "ada@example.org", "country": "GBR"}


@pytest.mark.parametrize(("raw", "number"), [("ams-1", 1), ("ams-61", 61),
                                             (f"ams-{MAX_NUMBER}", MAX_NUMBER)])
def test_own_ids_parse_to_their_number(raw: str, number: int) -> None:
    assert parse_id("project", "project_id", raw, "ams") == number
    assert region_of_id(raw) == "ams"  # the front door's reading of the same id


def test_another_regions_id_names_the_region_that_holds_it() -> None:
    with pytest.raises(NotFoundError) as info:
        parse_id("project", "project_id", "syd-61", "ams")
    assert str(info.value) == ("project syd-61 lives in region syd; send it through the front "
                               "door or to the syd API")


@pytest.mark.parametrize("raw", [
    "61", "ams", "ams-", "-61", "ams-0", "ams-061", "ams--1", "ams-+1", "ams- 1", "AMS-1",
    "xyz-1", "ams-\u0661\u0662", f"ams-{MAX_NUMBER + 1}", "ams-99999999999", "ams-1-2",
    "ams_1", "", "ams-1.0", "é-1",
])
def test_malformed_ids_are_422_naming_the_field_and_the_form(raw: str) -> None:
    with pytest.raises(InvalidFieldError) as info:
        parse_id("user", "user_id", raw, "ams")
    assert (info.value.field, info.value.location) == ("user_id", "path")
    assert "'<region>-<number>' like 'syd-61'" in str(info.value)


def test_the_documented_pattern_accepts_exactly_the_own_form() -> None:
    import re

    assert re.fullmatch(ID_PATTERN, "jnb-7") and not re.fullmatch(ID_PATTERN, "jnb-07")
    assert not re.fullmatch(ID_PATTERN, "xyz-7")


async def test_api_ids_of_other_regions_are_404_and_malformed_ones_422(api: Api) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"progress": 1} if method == "PATCH" else None
        r = await api.client.request(method, "/v1/projects/syd-61", json=body)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["detail"] == ("project syd-61 lives in region syd; send it through "
                                      "the front door or to the syd API")
    user = await api.client.get("/v1/users/iad-3")
    assert user.status_code == 404 and "user iad-3 lives in region iad" in user.text
    for path in ("/v1/projects/61", "/v1/projects/ams-0", "/v1/users/amsterdam"):
        r = await api.client.get(path)
        assert r.status_code == 422, (path, r.text)
        (detail,) = r.json()["detail"]
        assert detail["loc"][0] == "path" and "'<region>-<number>'" in detail["msg"]


async def test_seeded_ids_are_known(api: Api) -> None:
    first = (await api.client.get("/v1/projects/ams-1")).json()
    assert (first["name"], first["country"], first["budget_usd"]) == (
        "Seed bank Tirana #1", "ALB", 209_634_000)
    last = (await api.client.get("/v1/projects/ams-82")).json()
    assert (last["name"], last["country"]) == ("Desalination plant Vatican City #82", "VAT")
    iad = await api.client.get("/v1/projects/iad-1")
    assert iad.status_code == 404 and "lives in region iad" in iad.text


def seeded(database: Database, region: str, number: int) -> tuple[str, str, int]:
    with database.reads() as session:
        row = session.execute(select(ProjectRow.name, ProjectRow.country, ProjectRow.budget_usd)
                              .where(ProjectRow.region == region,
                                     ProjectRow.number == number)).one()
    return row.name, row.country, row.budget_usd


def test_seeded_ids_do_not_depend_on_the_database_layout_or_order(tmp_path: Path) -> None:
    """One database for all regions, seeded syd first: still ams-1 .. ams-82, syd-1 .. syd-60."""
    shared = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'all.sqlite3'}",
                      nats_url=None, redis_url=None)
    upgrade_regions(shared, ["syd"])
    assert [r.projects_added for r in seed_regions(shared, ["syd", "ams"])] == [60, 82]
    db = Database.for_region(shared, "ams")
    try:
        assert seeded(db, "ams", 1) == ("Seed bank Tirana #1", "ALB", 209_634_000)
        assert seeded(db, "syd", 1) == ("Seed bank Canberra #1", "AUS", 378_057_000)
        assert seeded(db, "syd", 60) == ("Digital ID service Majuro #60", "MHL", 107_901_000)
    finally:
        db.dispose()


async def test_ids_are_never_reused_and_events_carry_them(api: Api) -> None:
    first = (await api.client.post("/v1/projects", json=PROJECT)).json()
    assert (await api.client.delete(f"/v1/projects/{first['id']}")).status_code == 204
    second = (await api.client.post("/v1/projects", json=PROJECT)).json()
    assert (first["id"], second["id"]) == ("ams-83", "ams-84")
    user = (await api.client.post("/v1/users", json=USER)).json()
    db = Database.for_region(api.settings, "ams")
    try:
        with db.reads() as session:
            payloads = [json.loads(p) for p in session.scalars(
                select(OutboxEvent.payload).order_by(OutboxEvent.seq))]
    finally:
        db.dispose()
    assert [p["data"]["id"] for p in payloads] == ["ams-83", "ams-83", "ams-84", user["id"]]
    assert payloads[0]["data"] == first  # the project exactly as the API returned it
