"""Nation-level statistics from a region's projects: totals, profit splits and rankings.

A region's database holds the projects of its home countries only, so project-based figures
(benefit, profit) are the region's; GDP and contribution rankings are global reference data.
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import func, select

from core_api import profit
from core_api.catalog import Catalog
from core_api.countries import countries_by_iso3, get_country
from core_api.database import Database
from core_api.models import ProjectRow, UserRow
from core_api.rankings import rank
from core_api.schemas import (
    CountryProfitSplit,
    CountryStatistics,
    RankedCountry,
    Ranking,
    RegionStatistics,
    SectorProfitSplit,
)
from core_api.sectors import Sector

_TOTALS = (
    func.count(),
    func.coalesce(func.sum(ProjectRow.budget_usd), 0),
    func.coalesce(func.sum(ProjectRow.beneficiaries), 0),
    func.coalesce(func.sum(ProjectRow.profit_usd), 0),
)


class Statistics:
    def __init__(self, db: Database, region: str, catalog: Catalog) -> None:
        self._db = db
        self._region = region
        self._catalog = catalog

    def country(self, iso3: str) -> CountryStatistics:
        country = get_country(iso3)
        with self._db.reads() as session:
            n, budget, people, gain = session.execute(
                select(*_TOTALS).where(ProjectRow.region == self._region,
                                       ProjectRow.country == country.iso3)
            ).one()
        return CountryStatistics(
            iso3=country.iso3, region=self._region, projects=n, budget_usd=budget,
            beneficiaries=people, profit_usd=gain,
            contribution_usd=self._catalog.contributions[country.iso3].amount_usd,
        )

    def region(self) -> RegionStatistics:
        mine = ProjectRow.region == self._region
        with self._db.reads() as session:
            n, budget, people, gain = session.execute(select(*_TOTALS).where(mine)).one()
            by_sector = dict(session.execute(
                select(ProjectRow.sector, func.count()).where(mine).group_by(ProjectRow.sector)
            ).all())
            by_status = dict(session.execute(
                select(ProjectRow.status, func.count()).where(mine).group_by(ProjectRow.status)
            ).all())
            users = session.scalar(select(func.count()).select_from(UserRow)
                                   .where(UserRow.region == self._region)) or 0
        return RegionStatistics(
            region=self._region, countries=self._catalog.region(self._region).countries,
            users=users, projects=n, budget_usd=budget, beneficiaries=people, profit_usd=gain,
            by_sector={s.value: by_sector.get(s.value, 0) for s in Sector}, by_status=by_status,
        )

    def sector_splits(self) -> list[SectorProfitSplit]:
        query = (
            select(ProjectRow.sector, func.count(),
                   func.coalesce(func.sum(ProjectRow.profit_usd), 0))
            .where(ProjectRow.region == self._region).group_by(ProjectRow.sector)
        )
        with self._db.reads() as session:
            rows = {sector: (n, total) for sector, n, total in session.execute(query)}
        return [self._sector_split(s, *rows.get(s.value, (0, 0))) for s in Sector]

    @staticmethod
    def _sector_split(sector: Sector, projects: int, total: int) -> SectorProfitSplit:
        return SectorProfitSplit(sector=sector, projects=projects, **asdict(profit.split(total)))

    def country_split(self, iso3: str) -> CountryProfitSplit:
        country = get_country(iso3)
        with self._db.reads() as session:
            n, total = session.execute(
                select(func.count(), func.coalesce(func.sum(ProjectRow.profit_usd), 0))
                .where(ProjectRow.region == self._region, ProjectRow.country == country.iso3)
            ).one()
        return CountryProfitSplit(iso3=country.iso3, region=self._region, projects=n,
                                  **asdict(profit.split(total)))

    def ranking(self, metric: str, limit: int) -> Ranking:
        if metric in ("gdp", "contribution"):
            values = [(c.iso3, c.gdp_usd if metric == "gdp" else c.contribution_usd)
                      for c in self._catalog.countries]
            scope = "global"
        else:
            column = ProjectRow.budget_usd if metric == "benefit" else ProjectRow.beneficiaries
            with self._db.reads() as session:
                values = list(session.execute(
                    select(ProjectRow.country, func.sum(column))
                    .where(ProjectRow.region == self._region).group_by(ProjectRow.country)
                ).all())
            scope = self._region
        names = countries_by_iso3()
        items = [RankedCountry(rank=r.rank, iso3=r.iso3, name=names[r.iso3].name, value=r.value)
                 for r in rank(values)[:limit]]
        return Ranking(metric=metric, scope=scope, items=items)
