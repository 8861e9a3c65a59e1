"""Users: personal data written only in the home region; every write enqueues its event."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core_api.database import Database
from core_api.errors import ConflictError, NotFoundError
from core_api.ids import format_id, parse_id
from core_api.models import UserRow
from core_api.numbering import reserve
from core_api.outbox import enqueue
from core_api.residency import require_home
from core_api.schemas import UserCreate, UserPage, UserPublic, UserUpdate
from kernel.clock import Clock, utcnow

T = TypeVarTuple("T")
ENTITY = "user"
_FIELDS = tuple(name for name in UserPublic.model_fields if name != "id")
_COLUMNS = (UserRow.number, *(getattr(UserRow, name) for name in _FIELDS))


def _public(values: dict[str, Any]) -> UserPublic:
    return UserPublic.model_validate(
        {"id": format_id(values["region"], values["number"])}
        | {name: values[name] for name in _FIELDS})


def _public_of(row: UserRow) -> UserPublic:
    return _public({column.key: getattr(row, column.key) for column in _COLUMNS})


def _event_data(user: UserPublic) -> dict[str, object]:
    # Events carry ids, not personal data: the bus is not bound to the home region.
    return {"id": user.id, "region": user.region, "country": user.country}


class UserStore:
    def __init__(self, db: Database, region: str, clock: Clock) -> None:
        self._db = db
        self._region = region
        self._clock = clock

    def _where(self, query: Select[*T], country: str | None, email: str | None) -> Select[*T]:
        query = query.where(UserRow.region == self._region)
        if country:
            query = query.where(UserRow.country == country)
        return query.where(UserRow.email == email.lower()) if email else query

    def page(self, country: str | None, limit: int, offset: int,
             email: str | None = None) -> UserPage:
        """This region's users, by country and/or exact email (stored lower-cased)."""
        with self._db.reads() as session:
            total = int(session.scalar(
                self._where(select(func.count()).select_from(UserRow), country, email)) or 0)
            query = self._where(select(*_COLUMNS), country, email)
            rows = session.execute(query.order_by(UserRow.number).limit(limit).offset(offset))
            items = [_public(dict(row._mapping)) for row in rows]
        return UserPage(items=items, total=total, limit=limit, offset=offset)

    def get(self, user_id: str) -> UserPublic:
        with self._db.reads() as session:
            return _public_of(self._row(session, user_id))

    def create(self, body: UserCreate) -> UserPublic:
        """Create in a transaction of its own (see ``create_in``)."""
        with self._db.write() as session:
            return self.create_in(session, body)

    def create_in(self, session: Session, body: UserCreate) -> UserPublic:
        """Create in the caller's write transaction, with its number and its event."""
        require_home(self._region, body.country)
        now = utcnow(self._clock)
        email = body.email.lower()
        self._require_free_email(session, email)
        row = UserRow(region=self._region, number=reserve(session, self._region, ENTITY),
                      name=body.name, email=email, country=body.country,
                      created_at=now, updated_at=now)
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent insert of the same email won the race
            raise ConflictError(f"email: {email} is already registered; use another "
                                "address") from exc
        public = _public_of(row)
        enqueue(session, self._region, ENTITY, "created", _event_data(public))
        return public

    def update(self, user_id: str, body: UserUpdate) -> UserPublic:
        changes = body.model_dump(exclude_none=True)
        if "email" in changes:
            changes["email"] = changes["email"].lower()
        with self._db.write() as session:
            row = self._row(session, user_id)
            changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
            if "email" in changed:
                self._require_free_email(session, changed["email"])
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                row.updated_at = utcnow(self._clock)
                session.flush()
            public = _public_of(row)
            if changed:
                data = _event_data(public) | {"changed": sorted(changed)}
                enqueue(session, self._region, ENTITY, "updated", data)
        return public

    def delete(self, user_id: str) -> None:
        with self._db.write() as session:
            row = self._row(session, user_id)
            public = _public_of(row)
            session.execute(delete(UserRow).where(UserRow.region == row.region,
                                                  UserRow.number == row.number))
            enqueue(session, self._region, ENTITY, "deleted", _event_data(public))

    def _require_free_email(self, session: Session, email: str) -> None:
        if session.scalar(select(UserRow.number).where(UserRow.email == email)) is not None:
            raise ConflictError(f"email: {email} is already registered; use another address")

    def _row(self, session: Session, user_id: str) -> UserRow:
        number = parse_id(ENTITY, "user_id", user_id, self._region)
        row = session.get(UserRow, (self._region, number))
        if row is None:
            raise NotFoundError(f"user {user_id} does not exist in region {self._region}")
        return row
