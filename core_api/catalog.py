"""Reference data as the API serves it: built once per app, pre-serialised to JSON bytes.

Countries, regions, sectors and contributions never change while a process runs (the fund
and floor are settings), so each country's response body is computed at startup and a
``GET /v1/countries/FRA`` is a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from core_api.contributions import Contribution, ContributionPolicy, allocate
from core_api.countries import Country, load_countries, unknown_country
from core_api.regions import REGIONS, get_region, unknown_region
from core_api.schemas import (
    ContributionPublic,
    CountryPublic,
    RegionContribution,
    RegionPublic,
    SectorPublic,
)
from core_api.sectors import SECTOR_DESCRIPTIONS


@dataclass(frozen=True)
class Catalog:
    policy: ContributionPolicy
    countries: tuple[CountryPublic, ...]
    country_json: dict[str, bytes]
    contributions: dict[str, Contribution]
    regions: tuple[RegionPublic, ...]
    sectors: tuple[SectorPublic, ...]
    by_contribution: tuple[CountryPublic, ...]  # largest first, ties by ISO code
    by_iso3: dict[str, CountryPublic]

    @classmethod
    def build(cls, policy: ContributionPolicy) -> Catalog:
        countries = load_countries()
        contributions = allocate(((c.iso3, c.gdp_usd) for c in countries), policy)
        public = tuple(_country_public(c, contributions[c.iso3]) for c in countries)
        return cls(
            policy=policy,
            countries=public,
            country_json={c.iso3: c.model_dump_json().encode() for c in public},
            contributions=contributions,
            regions=tuple(_region_public(code.code, countries, contributions) for code in REGIONS),
            sectors=tuple(SectorPublic(code=s, description=d)
                          for s, d in SECTOR_DESCRIPTIONS.items()),
            by_contribution=tuple(sorted(public, key=lambda c: (-c.contribution_usd, c.iso3))),
            by_iso3={c.iso3: c for c in public},
        )

    def country_bytes(self, iso3: str) -> bytes:
        body = self.country_json.get(iso3)
        if body is None:
            raise unknown_country(iso3)
        return body

    def country(self, iso3: str) -> CountryPublic:
        found = self.by_iso3.get(iso3)
        if found is None:
            raise unknown_country(iso3)
        return found

    def region(self, code: str) -> RegionPublic:
        found = next((r for r in self.regions if r.code == code), None)
        if found is None:
            raise unknown_region(code)
        return found

    def contribution_rows(self, countries: Sequence[CountryPublic]) -> list[ContributionPublic]:
        return [
            ContributionPublic(
                iso3=c.iso3, name=c.name, home_region=c.home_region, gdp_usd=c.gdp_usd,
                amount_usd=c.contribution_usd, share=c.contribution_share,
                basis=c.contribution_basis,
            )
            for c in countries
        ]

    def region_contributions(self) -> list[RegionContribution]:
        fund = self.policy.annual_fund_usd
        return [
            RegionContribution(region=r.code, countries=r.countries, amount_usd=r.contribution_usd,
                               share=r.contribution_usd / fund if fund else 0.0)
            for r in self.regions
        ]


def _country_public(country: Country, contribution: Contribution) -> CountryPublic:
    return CountryPublic(
        **asdict(country), contribution_usd=contribution.amount_usd,
        contribution_share=contribution.share, contribution_basis=contribution.basis,
    )


def _region_public(
    code: str, countries: Sequence[Country], contributions: dict[str, Contribution]
) -> RegionPublic:
    region = get_region(code)
    members = [c for c in countries if c.home_region == code]
    return RegionPublic(
        code=code, city=region.city, country=region.country, latitude=region.latitude,
        longitude=region.longitude, countries=len(members),
        population=sum(c.population or 0 for c in members),
        gdp_usd=sum(c.gdp_usd or 0 for c in members),
        contribution_usd=sum(contributions[c.iso3].amount_usd for c in members),
    )
