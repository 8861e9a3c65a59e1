"""List pages are reused only while the SQLite file is unchanged, whoever changes it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from core_api.database import Database
from core_api.models import ProjectRow
from core_api.numbering import reserve

from .conftest import Api


def insert_behind_the_apis_back(api: Api) -> None:
    """A commit through a separate engine, as another process would make it."""
    other = Database.for_region(api.settings, "ams")
    now = datetime.now(UTC)
    try:
        with other.write() as session:
            number = reserve(session, "ams", "project")
            session.execute(insert(ProjectRow), [{
                "region": "ams", "number": number, "name": "Elsewhere", "country": "BEL",
                "sector": "water",
                "budget_usd": 1, "status": "planned", "beneficiaries": 0, "progress": 0,
                "profit_usd": 0, "created_at": now, "updated_at": now}])
    finally:
        other.dispose()


async def test_repeated_pages_are_reused(api: Api) -> None:
    pages = api.app.state.services.projects._pages
    first = await api.client.get("/v1/projects?limit=50")
    hits = pages.hits
    again = await api.client.get("/v1/projects?limit=50")
    assert again.content == first.content and pages.hits == hits + 1


async def test_a_commit_from_another_connection_is_seen_at_once(api: Api) -> None:
    before = (await api.client.get("/v1/projects?country=BEL")).json()
    await api.client.get("/v1/projects?country=BEL")  # now cached
    insert_behind_the_apis_back(api)
    after = (await api.client.get("/v1/projects?country=BEL")).json()
    assert after["total"] == before["total"] + 1
    assert after["items"][-1]["name"] == "Elsewhere"


async def test_api_writes_are_seen_at_once(api: Api) -> None:
    before = (await api.client.get("/v1/projects?sector=water&limit=200")).json()
    body = {"name": "Well", "country": "BEL", "sector": "water", "budget_usd": 2}
    created = (await api.client.post("/v1/projects", json=body)).json()
    after = (await api.client.get("/v1/projects?sector=water&limit=200")).json()
    assert after["total"] == before["total"] + 1 and after["items"][-1] == created
    await api.client.patch(f"/v1/projects/{created['id']}", json={"progress": 9})
    patched = (await api.client.get("/v1/projects?sector=water&limit=200")).json()
    assert patched["items"][-1]["progress"] == 9
    await api.client.delete(f"/v1/projects/{created['id']}")
    gone = (await api.client.get("/v1/projects?sector=water&limit=200")).json()
    assert gone["total"] == before["total"]
