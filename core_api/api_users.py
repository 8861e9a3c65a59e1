"""Users: personal data kept in, and served only by, the user's home region."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from core_api.http_errors import ERROR_RESPONSES
from core_api.schemas import UserCreate, UserPage, UserPublic, UserUpdate
from core_api.services import JsonBytes, json_response, services

router = APIRouter(prefix="/v1/users", tags=["users"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
UserId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("", response_model=UserPage)
async def list_users(
    request: Request, limit: Limit = 50, offset: Offset = 0,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> JsonBytes:
    s = services(request)
    return json_response(await s.read(s.users.page, country, limit, offset))


@router.post("", response_model=UserPublic, status_code=201)
async def create_user(request: Request, body: UserCreate) -> JsonBytes:
    """Only for a country homed in this region (422 naming `country` otherwise)."""
    s = services(request)
    return json_response(await s.write(s.users.create, body), status_code=201)


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(request: Request, user_id: UserId) -> JsonBytes:
    s = services(request)
    return json_response(await s.read(s.users.get, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(request: Request, user_id: UserId, body: UserUpdate) -> JsonBytes:
    s = services(request)
    return json_response(await s.write(s.users.update, user_id, body))


@router.delete("/{user_id}", status_code=204, response_class=Response)
async def delete_user(request: Request, user_id: UserId) -> Response:
    s = services(request)
    await s.write(s.users.delete, user_id)
    return Response(status_code=204)
