"""Fast paths for the two hottest reads, tried before FastAPI's own routes.

A ``FastRoute`` matches only a request whose parameters it can parse completely and
cheaply; anything else — a malformed or unusual value, an unknown code — does not match,
and the documented FastAPI route behind it answers, with its usual validation errors. So
the fast path changes the cost of valid requests and nothing else; FastAPI's per-request
parameter machinery was most of the cost of serving a pre-built body (measured with
``covenant bench api``: country GET 2,700 → 6,500 req/s).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from core_api.countries import countries_by_iso3
from core_api.project_status import ProjectStatus
from core_api.projects import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE, ProjectFilter
from core_api.sectors import Sector
from core_api.services import JsonBytes, services

PARSED = "covenant.fast_params"
Parser = Callable[[Scope], Any | None]

_SECTORS = {s.value.encode(): s for s in Sector}
_STATUSES = {s.value.encode(): s for s in ProjectStatus}
_PAGE_KEYS = frozenset({b"limit", b"offset", b"country", b"sector", b"status"})


class FastRoute(Route):
    def __init__(self, path: str, parse: Parser,
                 endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(path, endpoint, methods=["GET"], include_in_schema=False)
        self._parse = parse

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}  # wrong method etc.: FastAPI's route says so
        parsed = self._parse({**scope, **child})
        if parsed is None:
            return Match.NONE, {}
        # "route" as FastAPI's own routes set it: the metrics' route label and the server
        # span's name are this template, not "<unmatched>" and the raw path.
        return match, {**child, PARSED: parsed, "route": self}


def parse_country(scope: Scope) -> str | None:
    """The upper-cased code of an existing country, else None (FastAPI answers 404/422)."""
    code: str = scope["path_params"]["iso3"]
    if len(code) != 3 or not code.isascii():
        return None
    code = code.upper()
    return code if code in countries_by_iso3() else None


def parse_project_page(scope: Scope) -> tuple[ProjectFilter, int, int] | None:
    """(filter, limit, offset) from a plain query string, else None.

    Plain means: known keys at most once, no percent- or plus-encoding, values exactly as
    the OpenAPI schema allows (``limit`` 1-200, ``offset`` 0-1,000,000, ``country`` three
    capitals, ``sector``/``status`` one of their values).
    """
    fields: dict[bytes, bytes] = {}
    query: bytes = scope["query_string"]
    for part in query.split(b"&") if query else ():
        key, sep, value = part.partition(b"=")
        if not sep or key not in _PAGE_KEYS or key in fields or b"%" in value or b"+" in value:
            return None
        fields[key] = value
    limit = _bounded_int(fields.get(b"limit", str(DEFAULT_PAGE_SIZE).encode()), 1, MAX_PAGE_SIZE)
    offset = _bounded_int(fields.get(b"offset", b"0"), 0, MAX_OFFSET)
    country = fields.get(b"country")
    if limit is None or offset is None or (country is not None and not (
            len(country) == 3 and country.isalpha() and country.isupper())):
        return None
    sector = _SECTORS.get(fields[b"sector"]) if b"sector" in fields else None
    status = _STATUSES.get(fields[b"status"]) if b"status" in fields else None
    if (b"sector" in fields and sector is None) or (b"status" in fields and status is None):
        return None
    code = country.decode() if country is not None else None
    return ProjectFilter(code, sector, status), limit, offset


def _bounded_int(raw: bytes, low: int, high: int) -> int | None:
    if not raw.isdigit() or len(raw) > len(str(high)):  # no int() of a huge number
        return None
    value = int(raw)
    return value if low <= value <= high else None


async def _country(request: Request) -> Response:
    code: str = request.scope[PARSED]
    return JsonBytes(services(request).catalog.country_json[code])


async def _project_page(request: Request) -> Response:
    f, limit, offset = request.scope[PARSED]
    s = services(request)
    return JsonBytes(await s.read(s.projects.page_json, f, limit, offset))


def install(app: FastAPI) -> None:
    """Put the fast routes in front of every other route of ``app``."""
    app.router.routes[0:0] = [
        FastRoute("/v1/countries/{iso3}", parse_country, _country),
        FastRoute("/v1/projects", parse_project_page, _project_page),
    ]
