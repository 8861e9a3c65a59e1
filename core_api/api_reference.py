"""Reference data: regions, sectors, countries and contributions (served from memory)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter

from core_api.http_errors import ERROR_RESPONSES
from core_api.schemas import (
    ContributionPage,
    ContributionPublic,
    CountryPage,
    CountryPublic,
    RegionContribution,
    RegionPublic,
    SectorPublic,
)
from core_api.services import JsonBytes, json_response, services

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Offset = Annotated[int, Query(ge=0, le=10_000)]
Iso3Path = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", description="ISO alpha-3, e.g. FRA")]
RegionCode = Annotated[str, Path(pattern=r"^[a-z]{3}$", examples=["ams"])]
RegionFilter = Annotated[str | None, Query(pattern=r"^[a-z]{3}$", description="home region")]

_REGIONS = TypeAdapter(list[RegionPublic])
_SECTORS = TypeAdapter(list[SectorPublic])
_REGION_CONTRIBUTIONS = TypeAdapter(list[RegionContribution])


@router.get("/regions", response_model=list[RegionPublic], tags=["reference"])
async def list_regions(request: Request) -> JsonBytes:
    s = services(request)
    return JsonBytes(_REGIONS.dump_json(list(s.catalog.regions)))


@router.get("/regions/{code}", response_model=RegionPublic, tags=["reference"])
async def get_region(request: Request, code: RegionCode) -> JsonBytes:
    s = services(request)
    return json_response(s.catalog.region(code))


@router.get("/sectors", response_model=list[SectorPublic], tags=["reference"])
async def list_sectors(request: Request) -> JsonBytes:
    s = services(request)
    return JsonBytes(_SECTORS.dump_json(list(s.catalog.sectors)))


@router.get("/countries", response_model=CountryPage, tags=["reference"])
async def list_countries(
    request: Request, limit: Limit = 50, offset: Offset = 0, region: RegionFilter = None,
    un_region: Annotated[str | None, Query(max_length=40)] = None,
    eu_member: bool | None = None,
) -> JsonBytes:
    s = services(request)
    rows = [c for c in s.catalog.countries
            if (region is None or c.home_region == region)
            and (un_region is None or c.un_region == un_region)
            and (eu_member is None or c.eu_member == eu_member)]
    page = CountryPage(items=rows[offset:offset + limit], total=len(rows), limit=limit,
                       offset=offset)
    return json_response(page)


@router.get("/countries/{iso3}", response_model=CountryPublic, tags=["reference"])
async def get_country(request: Request, iso3: Iso3Path) -> JsonBytes:
    s = services(request)
    return JsonBytes(s.catalog.country_bytes(iso3.upper()))


@router.get("/contributions", response_model=ContributionPage, tags=["contributions"])
async def list_contributions(
    request: Request, limit: Limit = 50, offset: Offset = 0, region: RegionFilter = None
) -> JsonBytes:
    """Each country's yearly contribution: the fund split by GDP share (see docs/core_api.md)."""
    s = services(request)
    rows = [c for c in s.catalog.by_contribution if region is None or c.home_region == region]
    policy = s.catalog.policy
    page = ContributionPage(
        items=s.catalog.contribution_rows(rows[offset:offset + limit]), total=len(rows),
        limit=limit, offset=offset, annual_fund_usd=policy.annual_fund_usd,
        floor_usd=policy.floor_usd,
    )
    return json_response(page)


@router.get("/contributions/countries/{iso3}", response_model=ContributionPublic,
            tags=["contributions"])
async def get_country_contribution(request: Request, iso3: Iso3Path) -> JsonBytes:
    s = services(request)
    country = s.catalog.country(iso3.upper())  # 404 for an unknown code
    return json_response(s.catalog.contribution_rows([country])[0])


@router.get("/contributions/regions", response_model=list[RegionContribution],
            tags=["contributions"])
async def list_region_contributions(request: Request) -> JsonBytes:
    s = services(request)
    return JsonBytes(_REGION_CONTRIBUTIONS.dump_json(s.catalog.region_contributions()))


@router.get("/contributions/regions/{code}", response_model=RegionContribution,
            tags=["contributions"])
async def get_region_contribution(request: Request, code: RegionCode) -> JsonBytes:
    s = services(request)
    s.catalog.region(code)  # 404 for an unknown region
    row = next(r for r in s.catalog.region_contributions() if r.region == code)
    return json_response(row)

