"""Data residency: projects and users are written only in their country's home region. Pure."""

from __future__ import annotations

from core_api.countries import countries_by_iso3
from core_api.errors import InvalidFieldError


def require_home(region: str, iso3: str, field: str = "country") -> None:
    """Raise unless ``iso3`` exists and is served from ``region``."""
    country = countries_by_iso3().get(iso3)
    if country is None:
        raise InvalidFieldError(
            field, f"{field}: {iso3!r} is not an ISO 3166-1 alpha-3 code of the 195 countries"
        )
    if country.home_region != region:
        raise InvalidFieldError(
            field,
            f"{field}: {iso3} ({country.name}) lives in region {country.home_region}, not "
            f"{region}; send this request to the {country.home_region} API",
        )
