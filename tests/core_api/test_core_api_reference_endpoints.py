"""Reference, contribution, statistics and profit-split endpoints: happy and error paths."""

from __future__ import annotations

from kernel.regions import REGION_CODES as REGIONS


def field_of(body: dict[str, object]) -> list[object]:
    detail = body["detail"]
    assert isinstance(detail, list)
    return [tuple(d["loc"])[-1] for d in detail]


async def test_regions(api) -> None:
    r = await api.client.get("/v1/regions")
    assert r.status_code == 200
    regions = {x["code"]: x for x in r.json()}
    assert tuple(regions) == REGIONS
    assert regions["ams"]["countries"] == 82 and regions["ams"]["city"] == "Amsterdam"
    assert sum(x["countries"] for x in regions.values()) == 195
    assert (await api.client.get("/v1/regions/sfo")).json()["city"] == "San Francisco"
    assert (await api.client.get("/v1/regions/lhr")).status_code == 404
    assert (await api.client.get("/v1/regions/AMS1")).status_code == 422


async def test_sectors(api) -> None:
    r = await api.client.get("/v1/sectors")
    assert [s["code"] for s in r.json()] == [
        "agriculture", "minerals", "energy", "water", "infrastructure", "technology"]


async def test_country_by_alpha3(api) -> None:
    r = await api.client.get("/v1/countries/FRA")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["name"] == "France" and body["home_region"] == "ams"
    assert body["contribution_basis"] == "gdp_share" and body["contribution_usd"] > 0
    assert (await api.client.get("/v1/countries/fra")).json() == body
    missing = await api.client.get("/v1/countries/XYZ")
    assert missing.status_code == 404 and "XYZ" in missing.json()["detail"]
    bad = await api.client.get("/v1/countries/FRANCE")
    assert bad.status_code == 422 and field_of(bad.json()) == ["iso3"]


async def test_country_list_pages_and_filters(api) -> None:
    page = (await api.client.get("/v1/countries")).json()
    assert (page["total"], page["limit"], len(page["items"])) == (195, 50, 50)
    last = (await api.client.get("/v1/countries?limit=50&offset=150")).json()
    assert len(last["items"]) == 45
    assert (await api.client.get("/v1/countries?region=sfo")).json()["total"] == 10
    assert (await api.client.get("/v1/countries?eu_member=true&limit=200")).json()["total"] == 27
    africa = (await api.client.get("/v1/countries?un_region=Africa&limit=200")).json()
    assert africa["total"] == 54
    for query, field in (("limit=500", "limit"), ("limit=0", "limit"), ("offset=-1", "offset"),
                         ("region=AMS", "region"), ("eu_member=maybe", "eu_member")):
        r = await api.client.get(f"/v1/countries?{query}")
        assert r.status_code == 422 and field_of(r.json()) == [field], query


async def test_contributions_per_country_and_region(api) -> None:
    fund = api.settings.contribution_fund_usd
    pages = [(await api.client.get(f"/v1/contributions?limit=200&offset={o}")).json()
             for o in (0, 200)]
    items = pages[0]["items"] + pages[1]["items"]
    assert len(items) == 195 and pages[0]["annual_fund_usd"] == fund
    assert sum(i["amount_usd"] for i in items) == fund
    assert items[0]["iso3"] == "USA"  # largest first
    prk = (await api.client.get("/v1/contributions/countries/PRK")).json()
    assert prk["basis"] == "floor" and prk["amount_usd"] == api.settings.contribution_floor_usd
    assert (await api.client.get("/v1/contributions/countries/QQQ")).status_code == 404
    regions = (await api.client.get("/v1/contributions/regions")).json()
    assert len(regions) == 6 and sum(r["amount_usd"] for r in regions) == fund
    ams = (await api.client.get("/v1/contributions/regions/ams")).json()
    ams_countries = (await api.client.get("/v1/contributions?region=ams&limit=200")).json()
    assert ams["amount_usd"] == sum(i["amount_usd"] for i in ams_countries["items"])
    assert (await api.client.get("/v1/contributions/regions/lhr")).status_code == 404


async def test_region_statistics(api) -> None:
    stats = (await api.client.get("/v1/statistics")).json()
    assert stats["region"] == "ams" and stats["projects"] == 82 and stats["countries"] == 82
    assert sum(stats["by_sector"].values()) == 82 == sum(stats["by_status"].values())
    assert stats["users"] == 0


async def test_rankings(api) -> None:
    gdp = (await api.client.get("/v1/statistics/rankings/gdp?limit=3")).json()
    assert [i["iso3"] for i in gdp["items"]] == ["USA", "CHN", "DEU"]
    assert [i["rank"] for i in gdp["items"]] == [1, 2, 3] and gdp["scope"] == "global"
    contrib = (await api.client.get("/v1/statistics/rankings/contribution?limit=195")).json()
    assert len(contrib["items"]) == 195
    benefit = (await api.client.get("/v1/statistics/rankings/benefit?limit=195")).json()
    assert benefit["scope"] == "ams" and len(benefit["items"]) == 82
    values = [i["value"] for i in benefit["items"]]
    assert values == sorted(values, reverse=True)
    assert (await api.client.get("/v1/statistics/rankings/beneficiaries")).status_code == 200
    assert (await api.client.get("/v1/statistics/rankings/height")).status_code == 422
    assert (await api.client.get("/v1/statistics/rankings/gdp?limit=0")).status_code == 422


async def test_country_statistics(api) -> None:
    fra = (await api.client.get("/v1/countries/FRA/statistics")).json()
    assert fra["projects"] >= 1 and fra["region"] == "ams" and fra["budget_usd"] > 0
    usa = (await api.client.get("/v1/countries/USA/statistics")).json()
    assert usa["projects"] == 0  # USA's projects live in iad
    assert (await api.client.get("/v1/countries/XYZ/statistics")).status_code == 404


async def test_profit_split_per_sector_and_country(api) -> None:
    sectors = (await api.client.get("/v1/profit-split/sectors")).json()
    assert len(sectors) == 6 and sum(s["projects"] for s in sectors) == 82
    for s in sectors:
        assert s["host_country_usd"] + s["contributors_usd"] + s["reinvestment_usd"] == s[
            "profit_usd"]
        assert s["host_country_usd"] == s["profit_usd"] // 2
    energy = (await api.client.get("/v1/profit-split/sectors/energy")).json()
    assert energy == next(s for s in sectors if s["sector"] == "energy")
    assert (await api.client.get("/v1/profit-split/sectors/fishing")).status_code == 422
    fra = (await api.client.get("/v1/profit-split/countries/FRA")).json()
    assert fra["iso3"] == "FRA" and fra["contributors_usd"] == fra["profit_usd"] * 30 // 100
    assert (await api.client.get("/v1/profit-split/countries/XYZ")).status_code == 404


async def test_openapi_and_docs(api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    for path in ("/v1/countries/{iso3}", "/v1/projects", "/v1/users/{user_id}", "/ready"):
        assert path in schema["paths"]
    assert (await api.client.get("/docs")).status_code == 200
