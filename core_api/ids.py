"""Ids of a region's own entities (projects, users): ``"<region>-<number>"``, e.g. ``"syd-61"``.

The number counts within the region (``core_api.numbering`` hands them out), so the pair is
unique whether each region has its own database or all share one, and the id alone tells
the front door which region holds the entity (``contract.region_of_id``). Pure.
"""

from __future__ import annotations

import re

from core_api.contract import ID_SEPARATOR, region_id, region_of_id
from core_api.errors import InvalidFieldError, NotFoundError
from core_api.regions import REGION_CODES

# Numbers are INTEGER columns: at most 2**31 - 1 on every database we run on.
MAX_NUMBER = 2**31 - 1
_NUMBER = re.compile(r"[1-9][0-9]{0,9}")  # ASCII digits, no sign, no leading zero
ID_PATTERN = rf"^({'|'.join(REGION_CODES)}){ID_SEPARATOR}[1-9][0-9]{{0,9}}$"
ID_EXAMPLE = region_id("syd", 61)
_SHOWN_CHARS = 60


def format_id(region: str, number: int) -> str:
    return region_id(region, number)


def parse_id(entity: str, field: str, raw: str, region: str) -> int:
    """The number of ``raw`` when it names an entity of ``region``.

    A malformed id is a 422 naming ``field`` and the form; a well-formed id of another
    region is a 404 naming the region that holds it (the front door routes by the prefix).
    """
    home, _, number = raw.partition(ID_SEPARATOR)
    if (region_of_id(raw) not in REGION_CODES or not _NUMBER.fullmatch(number)
            or int(number) > MAX_NUMBER):
        raise InvalidFieldError(field, _malformed(entity, field, raw), location="path")
    if home != region:
        raise NotFoundError(
            f"{entity} {raw} lives in region {home}; send it through the front door or to "
            f"the {home} API")
    return int(number)


def _malformed(entity: str, field: str, raw: str) -> str:
    shown = raw if len(raw) <= _SHOWN_CHARS else raw[:_SHOWN_CHARS] + "..."
    return (f"{field}: {shown!r} is not a {entity} id; ids are '<region>-<number>' like "
            f"{ID_EXAMPLE!r}, with region one of {' '.join(REGION_CODES)} and number "
            f"1-{MAX_NUMBER} (no sign, no leading zero)")
