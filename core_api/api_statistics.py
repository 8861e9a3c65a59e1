"""Statistics, rankings and profit splits; the project-based ones go through the cache."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter

from core_api.cache import COUNTRY, STATS, cache_key, read_through
from core_api.http_errors import ERROR_RESPONSES
from core_api.schemas import (
    CountryProfitSplit,
    CountryStatistics,
    Ranking,
    RegionStatistics,
    SectorProfitSplit,
)
from core_api.sectors import Sector
from core_api.services import CACHE_TTL_S, JsonBytes, json_response, services

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

Iso3Path = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", description="ISO alpha-3, e.g. FRA")]
Metric = Literal["gdp", "contribution", "benefit", "beneficiaries"]
_SECTOR_SPLITS = TypeAdapter(list[SectorProfitSplit])


@router.get("/statistics", response_model=RegionStatistics, tags=["statistics"])
def region_statistics(request: Request) -> JsonBytes:
    """This region's project totals, by sector and status."""
    s = services(request)
    body = read_through(s.cache, cache_key(STATS, "region"), CACHE_TTL_S,
                        lambda: s.stats.region().model_dump_json().encode())
    return JsonBytes(body)


@router.get("/statistics/rankings/{metric}", response_model=Ranking, tags=["statistics"])
def ranking(
    request: Request, metric: Metric, limit: Annotated[int, Query(ge=1, le=195)] = 20
) -> JsonBytes:
    """gdp and contribution rank all 195 countries; benefit (project budgets) and
    beneficiaries rank this region's countries."""
    s = services(request)
    body = read_through(s.cache, cache_key(STATS, "ranking", metric, str(limit)), CACHE_TTL_S,
                        lambda: s.stats.ranking(metric, limit).model_dump_json().encode())
    return JsonBytes(body)


@router.get("/countries/{iso3}/statistics", response_model=CountryStatistics,
            tags=["statistics"])
def country_statistics(request: Request, iso3: Iso3Path) -> JsonBytes:
    s = services(request)
    code = iso3.upper()
    body = read_through(s.cache, cache_key(COUNTRY, code, "statistics"), CACHE_TTL_S,
                        lambda: s.stats.country(code).model_dump_json().encode())
    return JsonBytes(body)


@router.get("/profit-split/sectors", response_model=list[SectorProfitSplit], tags=["profit"])
def sector_splits(request: Request) -> JsonBytes:
    """50% host country, 30% contributors, 20% sector reinvestment, of each sector's profit."""
    s = services(request)
    return JsonBytes(_SECTOR_SPLITS.dump_json(s.stats.sector_splits()))


@router.get("/profit-split/sectors/{sector}", response_model=SectorProfitSplit, tags=["profit"])
def sector_split(request: Request, sector: Sector) -> JsonBytes:
    s = services(request)
    return json_response(next(x for x in s.stats.sector_splits() if x.sector == sector))


@router.get("/profit-split/countries/{iso3}", response_model=CountryProfitSplit,
            tags=["profit"])
def country_split(request: Request, iso3: Iso3Path) -> JsonBytes:
    s = services(request)
    return json_response(s.stats.country_split(iso3.upper()))
