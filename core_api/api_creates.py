"""The shared path of the ``POST`` handlers that create: once per ``Idempotency-Key``.

Each handler hands over ``write(session) -> Recorded``: the create in the given write
transaction and the response it makes. Without a key it runs in a transaction of its own;
with one, ``IdempotencyLedger.create_once`` runs it and stores the response in that same
transaction, or replays the stored one (``Idempotent-Replayed: true``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core_api.database import Database
from core_api.idempotency import (
    HEADER_NAME,
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    KeyedRequest,
    Recorded,
    check_key,
    fingerprint,
)
from core_api.schemas import ErrorBody, MisdirectedBody
from core_api.services import services

Write = Callable[[Session], Recorded]

IdempotencyKey = Annotated[str | None, Header(
    alias=HEADER_NAME,
    description=f"Makes a retry safe: a repeat with the same key within 24 h returns the "
    f"first response (with `Idempotent-Replayed: true`) and creates nothing. 1-{MAX_KEY_LENGTH} "
    "printable ASCII characters, e.g. a UUID.",
    json_schema_extra={"maxLength": MAX_KEY_LENGTH, "pattern": f"^[ -~]{{1,{MAX_KEY_LENGTH}}}$"},
)]

CREATE_RESPONSES: dict[int | str, dict[str, object]] = {
    409: {"model": ErrorBody, "description": "Conflicts with existing data, or the "
          "Idempotency-Key's first request is still running (see Retry-After)"},
    421: {"model": MisdirectedBody, "description": "The country's data lives in another "
          "region (named in `home_region`); send the request to that region's API"},
}


def recorded_json(body: bytes, location: str, status: int = 201) -> Recorded:
    return Recorded(status, body, (("content-type", "application/json"),
                                   ("location", location)))


async def create(request: Request, raw_key: str | None, write: Write) -> Response:
    """Run ``write`` once for its key (or at all, without one) and answer its response."""
    s = services(request)
    if raw_key is None:
        return _response(await s.write(_in_transaction, s.db, write), replayed=False)
    keyed = KeyedRequest(check_key(raw_key), fingerprint(
        request.method, request.url.path, await request.body()))
    with s.in_flight.claim(keyed.key):
        recorded, replayed = await s.write(s.ledger.create_once, keyed, write)
    return _response(recorded, replayed)


def _in_transaction(db: Database, write: Write) -> Recorded:
    with db.write() as session:
        return write(session)


def _response(recorded: Recorded, replayed: bool) -> Response:
    headers = dict(recorded.headers)
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(recorded.body, status_code=recorded.status, headers=headers)


def model_bytes(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()
