"""API keys of the control-plane API, kept as SHA-256 hashes in the state store.

A key is ``cov_`` and 43 URL-safe characters (32 random bytes); it is shown once, when made.
The store keeps its hash and a display prefix (``cov_AbCd1234``); a request's key is
hashed, looked up, and compared in constant time. Every creation, revocation and role
change is appended to ``cp_key_events`` with who did it, in the change's own transaction, so
:meth:`KeyStore.generation` (how many changes were ever committed) grows with each: a guard
may keep a verified key while it stays the same, and a revoked key still fails on its next
request, whichever process revoked it (the CLI writes the store directly).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    bindparam,
    create_engine,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from controlplane.access import Role
from controlplane.errors import ControlPlaneError
from kernel.clock import SYSTEM_CLOCK, Clock
from kernel.state.base import StateBase
from kernel.state.migrate import StateSchemaError, upgrade_state

TOKEN_PREFIX = "cov_"
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
TEAM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ApiKeyError(ControlPlaneError):
    """A key operation that cannot be done; the message names the key and the fix."""


class ApiKeyRow(StateBase):
    __tablename__ = "cp_api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    teams: Mapped[str] = mapped_column(Text)  # JSON list: the runbook gates it may approve
    prefix: Mapped[str] = mapped_column(String(16))
    hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class KeyEventRow(StateBase):
    __tablename__ = "cp_key_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    key_id: Mapped[int] = mapped_column(Integer)
    key_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # created | revoked | role_changed
    role: Mapped[str] = mapped_column(String(16))
    teams: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: int
    name: str
    role: Role
    teams: tuple[str, ...]
    prefix: str
    created_at: float
    created_by: str
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class KeyEvent:
    id: int
    at: float
    key_id: int
    key_name: str
    kind: str
    role: str
    teams: tuple[str, ...]
    actor: str
    detail: str


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_key(name: str, role: str, teams: Sequence[str]) -> list[str]:
    """Every problem with a key to be made (empty: fine). Pure."""
    problems = []
    if not NAME.match(name):
        problems.append(f"name {name!r}: use 1-100 of A-Z a-z 0-9 _ . @ -")
    if role not in {r.value for r in Role}:
        problems.append(f"role {role!r}: use one of {', '.join(r.value for r in Role)}")
    problems += [f"team {t!r}: use a-z 0-9 _ - (a runbook approver role, e.g. sre-oncall)"
                 for t in teams if not TEAM.match(t)]
    return problems


class KeyStore:
    def __init__(self, url: str | None = None, engine: Engine | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        try:
            self._engine = engine or create_engine(str(url), pool_pre_ping=_ping(url))
            upgrade_state(self._engine)
        except (SQLAlchemyError, StateSchemaError) as exc:
            raise ApiKeyError(f"API keys at {url!r} cannot be opened: {exc}; check "
                            "COVENANT_STATE_URL") from exc
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._clock = clock

    def close(self) -> None:
        self._engine.dispose()

    def create(self, name: str, role: str, teams: Sequence[str], actor: str
               ) -> tuple[KeyInfo, str]:
        """A new key; returns it with the token (shown once: only its hash is kept)."""
        problems = check_new_key(name, role, teams)
        if problems:
            raise ApiKeyError("cannot create the key: " + "; ".join(problems))
        token, now = new_token(), self._clock.time()
        row = ApiKeyRow(name=name, role=role, teams=json.dumps(sorted(set(teams))),
                        prefix=token[:12], hash=token_hash(token), created_at=now,
                        created_by=actor)
        with self._write() as s:
            s.add(row)
            s.flush()
            s.add(_event(row, "created", actor, now, f"{role} key {row.prefix}…"))
        return _info(row), token

    def authenticate(self, token: str) -> KeyInfo | None:
        """The live key ``token`` is, or None (unknown or revoked): one indexed read
        (SQLAlchemy Core). The guard asks again whenever :meth:`generation` has moved."""
        digest = token_hash(token)
        with self._engine.connect() as conn:
            row = conn.execute(_BY_HASH, {"hash": digest}).mappings().first()
        if row is None or not hmac.compare_digest(row["hash"], digest) or row["revoked_at"]:
            return None
        return KeyInfo(row["id"], row["name"], Role(row["role"]), tuple(json.loads(
            row["teams"])), row["prefix"], row["created_at"], row["created_by"], None)

    def generation(self) -> int:
        """How many key changes were ever committed. ``cp_key_events`` is append-only, so
        its row count grows with every commit of a change, whatever order concurrent writers
        commit in (its largest id would not: ids are taken before commit). Read through
        the driver's cursor: the guard reads it for every request, and SQLAlchemy's statement
        handling costs ten times the query (~0.1 ms against ~0.01 ms on SQLite)."""
        with self._engine.connect() as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(_CHANGES)
                row = cursor.fetchone()
            finally:
                cursor.close()
        return int(row[0]) if row else 0

    def why_refused(self, token: str) -> str:
        """Why ``token`` does not authenticate, for the 401's message."""
        with self._sessions() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.hash == token_hash(token)))
        if row is not None and row.revoked_at is not None:
            return f"API key {row.prefix}… ({row.name}) was revoked"
        return "unknown API key"

    def keys(self, include_revoked: bool = True) -> list[KeyInfo]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self._sessions() as s:
            return [_info(r) for r in s.scalars(query)]

    def revoke(self, ref: str, actor: str) -> KeyInfo:
        """Revoke the live key named by ``ref`` (its id, name or prefix)."""
        now = self._clock.time()
        with self._write() as s:
            row = _find(s, ref)
            row.revoked_at = now
            s.add(_event(row, "revoked", actor, now, f"revoked {row.prefix}…"))
        return _info(row)

    def set_role(self, ref: str, role: str, actor: str) -> KeyInfo:
        problems = check_new_key("x", role, ())
        if problems:
            raise ApiKeyError("cannot change the role: " + "; ".join(problems))
        now = self._clock.time()
        with self._write() as s:
            row = _find(s, ref)
            before, row.role = row.role, role
            s.add(_event(row, "role_changed", actor, now, f"{before} -> {role}"))
        return _info(row)

    def events(self, limit: int = 100, before: int | None = None) -> list[KeyEvent]:
        """Newest first; page with ``before=<smallest id of the last page>``."""
        query = select(KeyEventRow).order_by(KeyEventRow.id.desc()).limit(limit)
        if before is not None:
            query = query.where(KeyEventRow.id < before)
        with self._sessions() as s:
            return [KeyEvent(r.id, r.at, r.key_id, r.key_name, r.kind, r.role,
                             tuple(json.loads(r.teams)), r.actor, r.detail)
                    for r in s.scalars(query)]

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as s:
                yield s
        except SQLAlchemyError as exc:
            raise ApiKeyError(f"API keys: {exc}; check COVENANT_STATE_URL") from exc


_BY_HASH = select(*ApiKeyRow.__table__.columns).where(ApiKeyRow.hash == bindparam("hash"))
_CHANGES = "SELECT count(*) FROM cp_key_events"  # plain SQL: every driver runs it as is


def _find(s: Session, ref: str) -> ApiKeyRow:
    live = select(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))
    match = or_(ApiKeyRow.name == ref, ApiKeyRow.prefix == ref)
    if ref.isdigit():
        match = or_(match, ApiKeyRow.id == int(ref))
    rows = list(s.scalars(live.where(match)))
    if not rows:
        raise ApiKeyError(f"no live key {ref!r}; list them with `covenant keys list`")
    if len(rows) > 1:
        raise ApiKeyError(f"{ref!r} names {len(rows)} live keys "
                        f"({', '.join(f'#{r.id}' for r in rows)}); pass the key's id")
    return rows[0]


def _event(row: ApiKeyRow, kind: str, actor: str, at: float, detail: str) -> KeyEventRow:
    return KeyEventRow(at=at, key_id=row.id, key_name=row.name, kind=kind, role=row.role,
                       teams=row.teams, actor=actor, detail=detail)


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(row.id, row.name, Role(row.role), tuple(json.loads(row.teams)), row.prefix,
                   row.created_at, row.created_by, row.revoked_at)


def _ping(url: str | None) -> bool:
    """Check a pooled connection before use, except on SQLite (a file: nothing to lose)."""
    return not str(url).startswith("sqlite")
