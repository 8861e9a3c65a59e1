"""``covenant db seed``: reference tables and the deterministic projects, idempotently.

Seeding is bootstrap data, not a change anyone made, so it writes no outbox events. The
projects take the region's next numbers (``numbering.reserve``): in a fresh region 1..N, so
``ams-1`` is the same project on every machine, whatever order the regions were seeded in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core_api.countries import countries_in_region, load_countries
from core_api.models import CountryRow, ProjectRow, RegionRow, SectorRow
from core_api.numbering import reserve
from core_api.regions import REGIONS
from core_api.sectors import SECTOR_DESCRIPTIONS
from core_api.seed_plan import ProjectSeed, plan_projects

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeedResult:
    region: str
    reference_rows_added: int
    projects_added: int


def seed_region(session: Session, region: str) -> SeedResult:
    """Add whatever of the seed is missing; a second run adds nothing."""
    added = seed_reference(session)
    projects = 0
    existing = session.scalar(
        select(func.count()).select_from(ProjectRow).where(ProjectRow.region == region)
    )
    if not existing:
        plan = plan_projects(region, countries_in_region(region))
        first = reserve(session, region, "project", len(plan))
        rows = [_project_row(region, first + i, seed) for i, seed in enumerate(plan)]
        session.add_all(rows)
        projects = len(rows)
    logger.info("seeded %s: %d reference rows, %d projects", region, added, projects)
    return SeedResult(region, added, projects)


def seed_reference(session: Session) -> int:
    """Regions, sectors and countries missing from the database; returns how many were added."""
    have_regions = set(session.scalars(select(RegionRow.code)))
    have_sectors = set(session.scalars(select(SectorRow.code)))
    have_countries = set(session.scalars(select(CountryRow.iso3)))
    new: list[RegionRow | SectorRow | CountryRow] = [
        RegionRow(code=r.code, city=r.city, latitude=r.latitude, longitude=r.longitude)
        for r in REGIONS if r.code not in have_regions
    ]
    new += [SectorRow(code=s.value, description=d)
            for s, d in SECTOR_DESCRIPTIONS.items() if s.value not in have_sectors]
    session.add_all(new)
    session.flush()  # regions before the countries that reference them
    countries = [
        CountryRow(iso3=c.iso3, iso2=c.iso2, name=c.name, un_region=c.un_region,
                   eu_member=c.eu_member, gdp_usd=c.gdp_usd, population=c.population,
                   home_region=c.home_region)
        for c in load_countries() if c.iso3 not in have_countries
    ]
    session.add_all(countries)
    session.flush()
    return len(new) + len(countries)


def _project_row(region: str, number: int, seed: ProjectSeed) -> ProjectRow:
    return ProjectRow(
        region=region, number=number, name=seed.name, country=seed.country,
        sector=seed.sector.value,
        budget_usd=seed.budget_usd, status=seed.status.value, beneficiaries=seed.beneficiaries,
        progress=seed.progress, profit_usd=seed.profit_usd, created_at=seed.created_at,
        updated_at=seed.created_at,
    )
