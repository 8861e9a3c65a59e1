"""Authentication and authorization of the control-plane API: a FastAPI dependency that
every route runs, applying :mod:`controlplane.access` to the bearer key the request sent.

401 when a route needs a key and none (or a malformed header, an unknown or revoked key)
came; 403 when the key's role lacks the route's scope, or the route has no rule at all.
The key (a :class:`controlplane.keys.KeyInfo`) is left on ``request.state.key`` for the
routes that record who acted (an approval records the key's name). Routes served ahead of
FastAPI (the Alertmanager webhook) call :meth:`Guard.check` themselves.

A verified key is kept (by its token's SHA-256) with the key store's change count it was read
at, and used again only while that count is unchanged. The count is read for every request,
but one read serves every request that arrived before it began (a busy webhook's requests
share it), and none waits on a read that began before it arrived: so a key revoked anywhere
fails on its next request, as without the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import HTTPException, Request

from controlplane.access import Scope, can, decide_access, rule_for
from controlplane.keys import TOKEN_PREFIX, KeyInfo, KeyStore, token_hash

MAX_TOKEN = 200
KEYS_KEPT = 1_000  # verified keys kept; a deployment has tens


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
        self._changes = SharedRead(keys.generation)
        self._verified: dict[str, tuple[int, KeyInfo]] = {}  # token's digest -> (count, key)

    async def __call__(self, request: Request) -> None:
        request.state.key = await self.check(request.method, _template(request),
                                             request.headers.get("authorization"))

    async def check(self, method: str, path: str, authorization: str | None
                    ) -> KeyInfo | None:
        """The key a request to ``method path`` (its route's template) sent, None on an open
        route; raises the 401 or 403 (naming the fix) the access rules give it."""
        known, scope = rule_for(method, path)
        token, problem = bearer(authorization)
        key, why = None, ""
        if known and scope is not None and not problem:
            key, why = await self._key(token)
        verdict = decide_access(method, path, problem, key.role if key else None, why)
        if verdict.status:
            headers = {"WWW-Authenticate": "Bearer"} if verdict.status == 401 else None
            raise HTTPException(verdict.status, verdict.message, headers=headers)
        return key

    async def optional(self, request: Request, scope: Scope) -> KeyInfo | None:
        """The sender's key when it sent a live one whose role has ``scope`` (an open route
        that shows more to those who may see it), else None."""
        token, problem = bearer(request.headers.get("authorization"))
        if problem:
            return None
        key, _ = await self._key(token)
        return key if key is not None and can(key.role, scope) else None

    async def _key(self, token: str) -> tuple[KeyInfo | None, str]:
        digest = token_hash(token)  # the token itself is not kept
        changes = await self._changes.get()
        kept = self._verified.get(digest)
        if kept is not None and kept[0] == changes:
            return kept[1], ""
        key = await asyncio.to_thread(self.keys.authenticate, token)
        if key is not None:
            if len(self._verified) >= KEYS_KEPT:  # only live keys come in, but bounded
                self._verified.clear()
            # Looked up after ``changes`` was read: a change since makes it differ next time.
            self._verified[digest] = (changes, key)
            return key, ""
        self._verified.pop(digest, None)
        return None, await asyncio.to_thread(self.keys.why_refused, token)


class SharedRead:
    """``read()`` (blocking: run in a worker thread), one at a time, shared by its callers.

    A caller gets the result of a read that began after it called, so it sees everything
    committed before it called; the callers that arrive during a read share the next one.
    One read per caller when they come one at a time, far fewer under load."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[int] | None = None  # the read not begun yet
        self._reader: asyncio.Task[None] | None = None

    async def get(self) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run one each): nothing carries over
            self._loop, self._next, self._reader = loop, None, None
        if self._next is None:
            self._next = loop.create_future()
            if self._reader is None:
                self._reader = loop.create_task(self._reads())
        # Shielded: one caller cancelled (its client gone) does not cancel the others' read.
        return await asyncio.shield(self._next)

    async def _reads(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # later callers wait for the next
                try:
                    waiting.set_result(await asyncio.to_thread(self._read))
                except Exception as exc:  # every waiter gets it (an unavailable store: 500)
                    waiting.set_exception(exc)
        finally:
            self._reader = None


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
