"""Idempotent creates: a ``POST`` sent with an ``Idempotency-Key`` creates at most once.

The first request's response (status, body, ``Content-Type``, ``Location``) is stored with the
key and a fingerprint of the request (method, path, body) **in the create's own transaction**,
so there is no moment at which the entity exists and the key does not. A repeat of the key
within ``KEY_TTL`` gets the stored response back and creates nothing; the key with another
request is refused (422); a repeat while the first is still running is refused with 409 and
``Retry-After`` (``InFlightKeys`` in this process; the key's primary key across processes).
Only creates that succeed are remembered: a refused request changed nothing, and its retry is
judged afresh. Keys are per region; rows older than ``KEY_TTL`` are ignored, and pruned.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core_api.contract import IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAYED_HEADER
from core_api.database import Database
from core_api.errors import InFlightError, InvalidFieldError
from core_api.models import IdempotencyRow
from kernel.clock import Clock, utcnow

HEADER_NAME = "Idempotency-Key"
REPLAYED_HEADER = IDEMPOTENT_REPLAYED_HEADER
MAX_KEY_LENGTH = 200
KEY_TTL = timedelta(hours=24)
PRUNE_EVERY = timedelta(minutes=10)
RETRY_AFTER_S = 1
STORED_HEADERS = frozenset({"content-type", "location"})


@dataclass(frozen=True, slots=True)
class Recorded:
    """A response as stored and replayed."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    key: str
    fingerprint: str


def check_key(raw: str) -> str:
    """The key when it is 1-200 printable ASCII characters, else a 422 naming the header."""
    if 0 < len(raw) <= MAX_KEY_LENGTH and all(" " <= ch <= "~" for ch in raw):
        return raw
    raise InvalidFieldError(
        IDEMPOTENCY_HEADER,
        f"{HEADER_NAME}: must be 1-{MAX_KEY_LENGTH} printable ASCII characters (got "
        f"{len(raw)} characters{'' if raw.isascii() else ', not all ASCII'}); send a short "
        "unique token per request, e.g. a UUID", location="header")


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same request" for one key (SHA-256, hex)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def in_flight_error(key: str) -> InFlightError:
    return InFlightError(
        f"{HEADER_NAME}: {key!r} is still being processed by an earlier request; retry after "
        f"{RETRY_AFTER_S} s to get its response", RETRY_AFTER_S)


class InFlightKeys:
    """Keys whose first request this process is running now."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def claim(self, key: str) -> Iterator[None]:
        with self._lock:
            if key in self._keys:
                raise in_flight_error(key)
            self._keys.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(key)


class IdempotencyLedger:
    """The stored responses of one region."""

    def __init__(self, db: Database, region: str, clock: Clock, ttl: timedelta = KEY_TTL
                 ) -> None:
        self._db = db
        self._region = region
        self._clock = clock
        self._ttl = ttl
        self._next_prune: datetime | None = None

    def create_once(self, request: KeyedRequest, write: Callable[[Session], Recorded]
                    ) -> tuple[Recorded, bool]:
        """``(response, replayed)``: the stored response of ``request.key``, or ``write``'s,
        committed together with the key."""
        now = utcnow(self._clock)
        with self._db.write() as session:
            self._prune_now_and_then(session, now)
            stored = self.lookup(session, request, now)
            if stored is not None:
                return stored, True
            recorded = write(session)
            self.remember(session, request, recorded, now)
        return recorded, False

    def lookup(self, session: Session, request: KeyedRequest, now: datetime) -> Recorded | None:
        row = session.get(IdempotencyRow, (self._region, request.key))
        if row is None:
            return None
        if _utc(row.created_at) <= now - self._ttl:
            session.delete(row)  # expired: the key is free again
            session.flush()
            return None
        if row.fingerprint != request.fingerprint:
            raise InvalidFieldError(
                IDEMPOTENCY_HEADER,
                f"{HEADER_NAME}: {request.key!r} was used in the last 24 h for a different "
                "request (method, path or body); send a new key for a new request, or repeat "
                "the first request unchanged to get its response", location="header")
        headers = tuple((name, value) for name, value in json.loads(row.headers))
        return Recorded(row.status, row.body.encode(), headers)

    def remember(self, session: Session, request: KeyedRequest, recorded: Recorded,
                 now: datetime) -> None:
        headers = [[n, v] for n, v in recorded.headers if n.lower() in STORED_HEADERS]
        try:
            session.execute(insert(IdempotencyRow).values(
                region=self._region, key=request.key, fingerprint=request.fingerprint,
                status=recorded.status, headers=json.dumps(headers),
                body=recorded.body.decode(), created_at=now))
        except IntegrityError as exc:  # another process committed the key meanwhile
            raise in_flight_error(request.key) from exc

    def prune(self, session: Session, now: datetime) -> int:
        """Delete this region's keys older than the TTL; returns how many."""
        result = session.execute(delete(IdempotencyRow).where(
            IdempotencyRow.region == self._region,
            IdempotencyRow.created_at <= now - self._ttl))
        return int(getattr(result, "rowcount", 0) or 0)

    def _prune_now_and_then(self, session: Session, now: datetime) -> None:
        if self._next_prune is None or now >= self._next_prune:
            self.prune(session, now)
            self._next_prune = now + PRUNE_EVERY

    def count(self) -> int:
        """Stored keys of this region (tests, diagnostics)."""
        with self._db.reads() as session:
            return int(session.scalar(select(func.count()).select_from(IdempotencyRow).where(
                IdempotencyRow.region == self._region)) or 0)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
