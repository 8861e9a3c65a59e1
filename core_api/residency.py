"""Data residency: projects and users are written only in their country's home region. Pure."""

from __future__ import annotations

from core_api.countries import Country, countries_by_iso3
from core_api.errors import InvalidFieldError, MisdirectedError


def require_home(region: str, iso3: str, field: str = "country") -> None:
    """Raise unless ``iso3`` exists (422) and is served from ``region`` (421: the request is
    fine but belongs to another region's API, which the error names)."""
    country = _known(iso3, field)
    if country.home_region != region:
        raise MisdirectedError(field, country.home_region, _elsewhere(region, country, field)
                               + f"; send this request to the {country.home_region} API")


def require_stays_home(region: str, iso3: str, entity: str, field: str = "country") -> None:
    """For a change of an existing entity's country: raise 422 unless the new country is
    served from ``region`` too. Another region's API does not hold this entity, so 421
    ("ask another server") would be wrong: the entity cannot move between regions."""
    country = _known(iso3, field)
    if country.home_region != region:
        raise InvalidFieldError(
            field, _elsewhere(region, country, field) + f"; a {entity} cannot move to another "
            f"region: create it in the {country.home_region} API and delete this one")


def _known(iso3: str, field: str) -> Country:
    country = countries_by_iso3().get(iso3)
    if country is None:
        raise InvalidFieldError(
            field, f"{field}: {iso3!r} is not an ISO 3166-1 alpha-3 code of the 195 countries"
        )
    return country


def _elsewhere(region: str, country: Country, field: str) -> str:
    return (f"{field}: {country.iso3} ({country.name}) lives in region {country.home_region}, "
            f"not {region}")
