"""The one region catalogue: the six serving regions, their cities, coordinates and ports.

Every package that names regions takes them from here: the core API (home regions, the
region an API process serves), desired state's order, the default ports of ``covenant up``,
generated dashboards and Prometheus targets.
"""

from __future__ import annotations

from dataclasses import dataclass


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

# The documented ports of `covenant up`, region i (in REGIONS order) at base + i.
FIRST_API_PORT = 8101
FIRST_PROXY_PORT = 8201
TOXIPROXY_PORT = 8474
FRONT_DOOR_PORT = 8080
CONTROL_PLANE_PORT = 8000


class UnknownRegion(LookupError):
    """A region code that is not in the catalogue; the message lists the valid ones."""


def region(code: str) -> Region:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise UnknownRegion(unknown_region_message(code)) from None


def unknown_region_message(code: str) -> str:
    return f"region {code!r} does not exist; use one of {', '.join(REGION_CODES)}"


def default_api_port(code: str) -> int:
    """A region API's port when none is given: 8101 (ams) to 8106 (jnb), in REGIONS order."""
    return FIRST_API_PORT + REGION_CODES.index(region(code).code)
