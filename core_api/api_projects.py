"""Projects: full CRUD in the region that is home to the project's country."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from core_api.http_errors import ERROR_RESPONSES
from core_api.project_status import ProjectStatus
from core_api.projects import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE, ProjectFilter
from core_api.schemas import ProjectCreate, ProjectPage, ProjectPublic, ProjectUpdate
from core_api.sectors import Sector
from core_api.services import JsonBytes, json_response, services, view_response

router = APIRouter(prefix="/v1/projects", tags=["projects"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                             description=f"Page size (at most {MAX_PAGE_SIZE}).")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
ProjectId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("", response_model=ProjectPage)
async def list_projects(
    request: Request, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    sector: Sector | None = None, status: ProjectStatus | None = None,
) -> JsonBytes:
    s = services(request)
    f = ProjectFilter(country=country, sector=sector, status=status)
    return JsonBytes(await s.read(s.projects.page_json, f, limit, offset))


@router.post("", response_model=ProjectPublic, status_code=201)
async def create_project(request: Request, body: ProjectCreate) -> JsonBytes:
    s = services(request)
    return view_response(await s.write(s.projects.create, body), status_code=201)


@router.get("/{project_id}", response_model=ProjectPublic)
async def get_project(request: Request, project_id: ProjectId) -> JsonBytes:
    s = services(request)
    return json_response(await s.read(s.projects.get, project_id))


@router.patch("/{project_id}", response_model=ProjectPublic)
async def update_project(request: Request, project_id: ProjectId, body: ProjectUpdate) -> JsonBytes:
    s = services(request)
    return json_response(await s.write(s.projects.update, project_id, body))


@router.delete("/{project_id}", status_code=204, response_class=Response)
async def delete_project(request: Request, project_id: ProjectId) -> Response:
    s = services(request)
    await s.write(s.projects.delete, project_id)
    return Response(status_code=204)
