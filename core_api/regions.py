"""The serving regions as the core API sees them: the catalogue of ``kernel.regions``, with
an unknown code answered as a 404 of this API."""

from __future__ import annotations

from core_api.errors import NotFoundError
from kernel.regions import (
    FIRST_API_PORT,
    REGION_CODES,
    REGIONS,
    Region,
    UnknownRegion,
    unknown_region_message,
)
from kernel.regions import default_api_port as default_port
from kernel.regions import region as _region

__all__ = ["FIRST_API_PORT", "REGIONS", "REGION_CODES", "Region", "default_port",
           "get_region", "unknown_region"]


def get_region(code: str) -> Region:
    try:
        return _region(code)
    except UnknownRegion:
        raise unknown_region(code) from None


def unknown_region(code: str) -> NotFoundError:
    return NotFoundError(unknown_region_message(code))
