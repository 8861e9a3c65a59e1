"""Authentication and authorization of the control-plane API: a FastAPI dependency that
every route runs, applying :mod:`controlplane.access` to the bearer key the request sent.

401 when a route needs a key and none (or a malformed header, an unknown or revoked key)
came; 403 when the key's role lacks the route's scope, or the route has no rule at all.
The key (a :class:`controlplane.keys.KeyInfo`) is left on ``request.state.key`` for the
routes that record who acted (an approval records the key's name).
"""

from __future__ import annotations

import asyncio

from fastapi import HTTPException, Request

from controlplane.access import Scope, can, decide_access, rule_for
from controlplane.keys import TOKEN_PREFIX, KeyInfo, KeyStore

MAX_TOKEN = 200


def bearer(header: str | None) -> tuple[str, str]:
    """(token, problem) from an Authorization header: problem ``"missing"`` when there is
    none, a description when it is malformed, ``""`` when a token was sent. Pure."""
    if not header:
        return "", "missing"
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        return "", f"scheme {scheme[:20]!r} is not Bearer"
    if not token:
        return "", "no key after 'Bearer'"
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN or not token.isascii():
        return "", f"a Covenant key starts with {TOKEN_PREFIX!r} (then 43 characters)"
    return token, ""


class Guard:
    """The dependency: ``FastAPI(dependencies=[Depends(guard)])``."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def __call__(self, request: Request) -> None:
        path = _template(request)
        known, scope = rule_for(request.method, path)
        token, problem = bearer(request.headers.get("authorization"))
        key, why = None, ""
        if known and scope is not None and not problem:
            key, why = await self._key(token)
        verdict = decide_access(request.method, path, problem, key.role if key else None, why)
        if verdict.status:
            headers = {"WWW-Authenticate": "Bearer"} if verdict.status == 401 else None
            raise HTTPException(verdict.status, verdict.message, headers=headers)
        request.state.key = key

    async def optional(self, request: Request, scope: Scope) -> KeyInfo | None:
        """The sender's key when it sent a live one whose role has ``scope`` (an open route
        that shows more to those who may see it), else None."""
        token, problem = bearer(request.headers.get("authorization"))
        if problem:
            return None
        key, _ = await self._key(token)
        return key if key is not None and can(key.role, scope) else None

    async def _key(self, token: str) -> tuple[KeyInfo | None, str]:
        key = await asyncio.to_thread(self.keys.authenticate, token)
        if key is not None:
            return key, ""
        return None, await asyncio.to_thread(self.keys.why_refused, token)


def sender(request: Request) -> KeyInfo:
    """The key that authenticated this request (routes with a scope only)."""
    key = getattr(request.state, "key", None)
    if not isinstance(key, KeyInfo):
        raise HTTPException(401, "this route needs an API key; send 'Authorization: Bearer "
                                 "<key>'")
    return key


def actor(request: Request) -> str:
    """Who acts, as journals record it: ``api:<key name>`` (``api`` when no key is wired)."""
    key = getattr(request.state, "key", None)
    return f"api:{key.name}" if isinstance(key, KeyInfo) else "api"


def _template(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else request.url.path
