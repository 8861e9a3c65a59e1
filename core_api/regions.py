"""The six serving regions: code, city and coordinates (the points that assign home regions)."""

from __future__ import annotations

from dataclasses import dataclass

from core_api.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    city: str
    country: str
    latitude: float
    longitude: float


# Coordinates as in shared/data/countries/README.md, which assigned each country's home_region.
REGIONS: tuple[Region, ...] = (
    Region("ams", "Amsterdam", "NLD", 52.37, 4.90),
    Region("iad", "Ashburn", "USA", 39.04, -77.49),
    Region("syd", "Sydney", "AUS", -33.87, 151.21),
    Region("sin", "Singapore", "SGP", 1.35, 103.82),
    Region("sfo", "San Francisco", "USA", 37.77, -122.42),
    Region("jnb", "Johannesburg", "ZAF", -26.20, 28.05),
)
REGION_CODES: tuple[str, ...] = tuple(r.code for r in REGIONS)
_BY_CODE = {r.code: r for r in REGIONS}
FIRST_API_PORT = 8101


def default_port(code: str) -> int:
    """``covenant api``'s port when none is given: 8101 (ams) to 8106 (jnb), in REGIONS order."""
    return FIRST_API_PORT + REGION_CODES.index(get_region(code).code)


def get_region(code: str) -> Region:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise unknown_region(code) from None


def unknown_region(code: str) -> NotFoundError:
    return NotFoundError(f"region {code!r} does not exist; use one of {', '.join(REGION_CODES)}")
