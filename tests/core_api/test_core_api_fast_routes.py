"""The fast routes answer exactly what the documented FastAPI routes answer."""

from __future__ import annotations

import pytest

from core_api.fast_routes import parse_country, parse_project_page
from core_api.project_status import ProjectStatus
from core_api.projects import ProjectFilter
from core_api.sectors import Sector

from .conftest import Api


def scope(query: bytes = b"", iso3: str = "") -> dict[str, object]:
    return {"query_string": query, "path_params": {"iso3": iso3}}


@pytest.mark.parametrize(("query", "parsed"), [
    (b"", (ProjectFilter(), 50, 0)),
    (b"limit=200&offset=7", (ProjectFilter(), 200, 7)),
    (b"country=FRA&sector=water&status=active",
     (ProjectFilter("FRA", Sector.WATER, ProjectStatus.ACTIVE), 50, 0)),
])
def test_plain_queries_parse(query: bytes, parsed: object) -> None:
    assert parse_project_page(scope(query)) == parsed


@pytest.mark.parametrize("query", [
    b"limit=0", b"limit=201", b"limit=-1", b"limit=1e3", b"offset=1000001", b"country=fra",
    b"country=FRAN", b"sector=fishing", b"status=", b"limit=5&limit=6", b"unknown=1",
    b"country=F%52A", b"limit", b"sector=water+x",
])
def test_anything_unusual_is_left_to_fastapi(query: bytes) -> None:
    assert parse_project_page(scope(query)) is None


def test_country_codes() -> None:
    assert parse_country(scope(iso3="fra")) == "FRA"
    assert parse_country(scope(iso3="XYZ")) is None  # FastAPI answers 404
    assert parse_country(scope(iso3="FRANCE")) is None  # FastAPI answers 422
    assert parse_country(scope(iso3="ßA")) is None


@pytest.mark.parametrize("query", [
    "", "limit=5", "limit=10&offset=80", "country=DEU", "sector=water&status=active",
    "offset=500",
])
async def test_fast_and_documented_routes_agree(api: Api, query: str) -> None:
    fast = await api.client.get(f"/v1/projects?{query}")
    # An unknown parameter makes the fast route step aside; FastAPI ignores it.
    documented = await api.client.get(f"/v1/projects?{query}&via=fastapi")
    assert fast.status_code == documented.status_code == 200
    assert fast.json() == documented.json()
    assert fast.headers["content-type"] == documented.headers["content-type"]


async def test_errors_still_come_from_fastapi(api: Api) -> None:
    assert (await api.client.get("/v1/projects?limit=0")).json()["detail"][0]["loc"] == [
        "query", "limit"]
    assert (await api.client.get("/v1/countries/XYZ")).status_code == 404
    assert (await api.client.get("/v1/countries/FRANCE")).json()["detail"][0]["loc"] == [
        "path", "iso3"]
    assert (await api.client.post("/v1/countries/FRA")).status_code == 405
