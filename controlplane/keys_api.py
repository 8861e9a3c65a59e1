"""Managing API keys over HTTP (admins; auditors read): ``GET /v1/keys``,
``GET /v1/keys/events``, ``POST /v1/keys`` (the key is in the answer, once),
``DELETE /v1/keys/{id}``. ``covenant keys`` does the same on the state store directly."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from controlplane.auth import actor
from controlplane.keys import ApiKeyError, KeyInfo, KeyStore


class KeyPublic(BaseModel):
    id: int
    name: str
    role: str
    teams: list[str]
    prefix: str
    created_at: float
    created_by: str
    revoked_at: float | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself: shown this once, only its hash is kept.")


class KeyEventPublic(BaseModel):
    id: int
    at: float
    key_id: int
    key_name: str
    kind: str
    role: str
    teams: list[str]
    actor: str
    detail: str


class NewKey(BaseModel):
    name: str
    role: str
    teams: list[str] = Field(default_factory=list)


def key_public(k: KeyInfo) -> KeyPublic:
    return KeyPublic(id=k.id, name=k.name, role=k.role, teams=list(k.teams), prefix=k.prefix,
                     created_at=k.created_at, created_by=k.created_by, revoked_at=k.revoked_at)


def keys_router(keys: KeyStore) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/keys", response_model=list[KeyPublic])
    async def listed() -> list[KeyPublic]:
        return [key_public(k) for k in await asyncio.to_thread(keys.keys)]

    @router.get("/v1/keys/events", response_model=list[KeyEventPublic])
    async def events(limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     before: Annotated[int | None, Query(ge=1)] = None
                     ) -> list[KeyEventPublic]:
        found = await asyncio.to_thread(keys.events, limit, before)
        return [KeyEventPublic(id=e.id, at=e.at, key_id=e.key_id, key_name=e.key_name,
                               kind=e.kind, role=e.role, teams=list(e.teams), actor=e.actor,
                               detail=e.detail) for e in found]

    @router.post("/v1/keys", response_model=KeyCreated, status_code=201)
    async def create(body: NewKey, request: Request) -> KeyCreated:
        try:
            info, token = await asyncio.to_thread(keys.create, body.name, body.role,
                                                  body.teams, actor(request))
        except ApiKeyError as exc:
            raise HTTPException(422, str(exc)) from exc
        return KeyCreated(**key_public(info).model_dump(), key=token)

    @router.delete("/v1/keys/{key_id}", response_model=KeyPublic)
    async def revoke(key_id: int, request: Request) -> KeyPublic:
        try:
            info = await asyncio.to_thread(keys.revoke, str(key_id), actor(request))
        except ApiKeyError as exc:
            raise HTTPException(404, str(exc)) from exc
        return key_public(info)

    return router
