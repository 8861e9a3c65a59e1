"""Projects: full CRUD in the region that is home to the project's country."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core_api import api_creates
from core_api.api_creates import CREATE_RESPONSES, IdempotencyKey, recorded_json
from core_api.http_errors import ERROR_RESPONSES
from core_api.idempotency import Recorded
from core_api.ids import ID_EXAMPLE, ID_PATTERN
from core_api.project_status import ProjectStatus
from core_api.projects import (
    DEFAULT_PAGE_SIZE,
    JSON_OPTIONS,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    ProjectFilter,
)
from core_api.schemas import ProjectCreate, ProjectPage, ProjectPublic, ProjectUpdate
from core_api.sectors import Sector
from core_api.services import JsonBytes, services, view_response

PREFIX = "/v1/projects"
router = APIRouter(prefix=PREFIX, tags=["projects"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                             description=f"Page size (at most {MAX_PAGE_SIZE}).")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
# Checked by the store (core_api.ids) so that a 404 can name the region holding the id.
ProjectId = Annotated[str, Path(
    description=f"'<region>-<number>', e.g. {ID_EXAMPLE}; another region's id is a 404 "
    "naming that region", json_schema_extra={"pattern": ID_PATTERN})]


@router.get("", response_model=ProjectPage)
async def list_projects(
    request: Request, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    sector: Sector | None = None, status: ProjectStatus | None = None,
) -> JsonBytes:
    s = services(request)
    f = ProjectFilter(country=country, sector=sector, status=status)
    return JsonBytes(await s.read(s.projects.page_json, f, limit, offset))


@router.post("", response_model=ProjectPublic, status_code=201, responses=CREATE_RESPONSES)
async def create_project(request: Request, body: ProjectCreate,
                         idempotency_key: IdempotencyKey = None) -> Response:
    """Only for a country homed in this region (421 naming the home region otherwise)."""
    s = services(request)

    def write(session: Session) -> Recorded:
        view = s.projects.create_in(session, body)
        return recorded_json(orjson.dumps(view, option=JSON_OPTIONS), f"{PREFIX}/{view.id}")

    return await api_creates.create(request, idempotency_key, write)


@router.get("/{project_id}", response_model=ProjectPublic)
async def get_project(request: Request, project_id: ProjectId) -> JsonBytes:
    s = services(request)
    return view_response(await s.read(s.projects.get, project_id))


@router.patch("/{project_id}", response_model=ProjectPublic)
async def update_project(request: Request, project_id: ProjectId, body: ProjectUpdate) -> JsonBytes:
    s = services(request)
    return view_response(await s.write(s.projects.update, project_id, body))


@router.delete("/{project_id}", status_code=204, response_class=Response)
async def delete_project(request: Request, project_id: ProjectId) -> Response:
    s = services(request)
    await s.write(s.projects.delete, project_id)
    return Response(status_code=204)
