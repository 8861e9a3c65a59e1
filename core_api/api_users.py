"""Users: personal data kept in, and served only by, the user's home region.

Like every route of the core API these have no authentication of their own: a region API
listens on loopback (``covenant api --host 127.0.0.1``) behind the front door. The email
search returns no more than the list does (``?country=`` already lists names and emails).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core_api import api_creates
from core_api.api_creates import CREATE_RESPONSES, IdempotencyKey, model_bytes, recorded_json
from core_api.http_errors import ERROR_RESPONSES
from core_api.idempotency import Recorded
from core_api.ids import ID_EXAMPLE, ID_PATTERN
from core_api.schemas import EMAIL_PATTERN, UserCreate, UserPage, UserPublic, UserUpdate
from core_api.services import JsonBytes, json_response, services

PREFIX = "/v1/users"
router = APIRouter(prefix=PREFIX, tags=["users"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
# Checked by the store (core_api.ids) so that a 404 can name the region holding the id.
UserId = Annotated[str, Path(
    description=f"'<region>-<number>', e.g. {ID_EXAMPLE}; another region's id is a 404 "
    "naming that region", json_schema_extra={"pattern": ID_PATTERN})]
EmailQuery = Annotated[str | None, Query(
    max_length=254, pattern=EMAIL_PATTERN,
    description="Exact address (compared lower-cased): 0 or 1 user of this region. The "
    "front door asks every region to find a person wherever they live.")]


@router.get("", response_model=UserPage)
async def list_users(
    request: Request, limit: Limit = 50, offset: Offset = 0,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    email: EmailQuery = None,
) -> JsonBytes:
    s = services(request)
    return json_response(await s.read(s.users.page, country, limit, offset, email))


@router.post("", response_model=UserPublic, status_code=201, responses=CREATE_RESPONSES)
async def create_user(request: Request, body: UserCreate,
                      idempotency_key: IdempotencyKey = None) -> Response:
    """Only for a country homed in this region (421 naming the home region otherwise)."""
    s = services(request)

    def write(session: Session) -> Recorded:
        user = s.users.create_in(session, body)
        return recorded_json(model_bytes(user), f"{PREFIX}/{user.id}")

    return await api_creates.create(request, idempotency_key, write)


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
