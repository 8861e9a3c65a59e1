"""The 195 countries: immutable reference data read once from the package's countries.csv."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from core_api.errors import CoreApiError, NotFoundError


@dataclass(frozen=True, slots=True)
class Country:
    iso3: str
    iso2: str
    numeric: str
    name: str
    official_name: str
    un_region: str
    un_subregion: str
    continent: str
    eu_member: bool
    gdp_usd: int | None
    gdp_year: int | None
    population: int | None
    population_year: int | None
    capital: str
    home_region: str
    capital_lat: float
    capital_lon: float


def _opt_int(value: str) -> int | None:
    return int(value) if value else None


def _parse_row(row: dict[str, str]) -> Country:
    try:
        return Country(
            iso3=row["iso3"], iso2=row["iso2"], numeric=row["numeric"], name=row["name"],
            official_name=row["official_name"], un_region=row["un_region"],
            un_subregion=row["un_subregion"], continent=row["continent"],
            eu_member=row["eu_member"] == "true", gdp_usd=_opt_int(row["gdp_usd"]),
            gdp_year=_opt_int(row["gdp_year"]), population=_opt_int(row["population"]),
            population_year=_opt_int(row["population_year"]), capital=row["capital"],
            home_region=row["home_region"], capital_lat=float(row["capital_lat"]),
            capital_lon=float(row["capital_lon"]),
        )
    except (KeyError, ValueError) as exc:
        raise CoreApiError(
            f"core_api/data/countries.csv row {row.get('iso3', '?')}: bad or missing column "
            f"({exc}); restore the file from shared/data/countries"
        ) from exc


def parse_countries(text: str) -> tuple[Country, ...]:
    """Countries from the CSV text, in file order (alphabetical by iso3)."""
    return tuple(_parse_row(row) for row in csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def load_countries() -> tuple[Country, ...]:
    """The packaged 195 countries (read once per process: they never change)."""
    text = resources.files("core_api").joinpath("data/countries.csv").read_text("utf-8")
    return parse_countries(text)


@lru_cache(maxsize=1)
def countries_by_iso3() -> dict[str, Country]:
    return {c.iso3: c for c in load_countries()}


def get_country(iso3: str) -> Country:
    try:
        return countries_by_iso3()[iso3.upper()]
    except KeyError:
        raise unknown_country(iso3) from None


def unknown_country(iso3: str) -> NotFoundError:
    return NotFoundError(
        f"country {iso3!r} does not exist; use an ISO 3166-1 alpha-3 code such as FRA")


def countries_in_region(region: str) -> tuple[Country, ...]:
    return tuple(c for c in load_countries() if c.home_region == region)
