"""Users: personal data written only in the home region; every write enqueues its event."""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core_api.database import Database
from core_api.errors import ConflictError, NotFoundError
from core_api.models import UserRow
from core_api.outbox import enqueue
from core_api.residency import require_home
from core_api.schemas import UserCreate, UserPage, UserPublic, UserUpdate
from kernel.clock import Clock, utcnow

T = TypeVarTuple("T")
_COLUMNS = tuple(getattr(UserRow, name) for name in UserPublic.model_fields)


def _event_data(user: UserPublic) -> dict[str, object]:
    # Events carry ids, not personal data: the bus is not bound to the home region.
    return {"id": user.id, "region": user.region, "country": user.country}


class UserStore:
    def __init__(self, db: Database, region: str, clock: Clock) -> None:
        self._db = db
        self._region = region
        self._clock = clock

    def _where(self, query: Select[*T], country: str | None) -> Select[*T]:
        query = query.where(UserRow.region == self._region)
        return query.where(UserRow.country == country) if country else query

    def page(self, country: str | None, limit: int, offset: int) -> UserPage:
        with self._db.reads() as session:
            total = int(session.scalar(self._where(select(func.count(UserRow.id)), country)) or 0)
            query = self._where(select(*_COLUMNS), country)
            rows = session.execute(query.order_by(UserRow.id).limit(limit).offset(offset))
            items = [UserPublic.model_validate(row._mapping) for row in rows]
        return UserPage(items=items, total=total, limit=limit, offset=offset)

    def get(self, user_id: int) -> UserPublic:
        with self._db.reads() as session:
            return UserPublic.model_validate(self._row(session, user_id), from_attributes=True)

    def create(self, body: UserCreate) -> UserPublic:
        require_home(self._region, body.country)
        now = utcnow(self._clock)
        email = body.email.lower()
        try:
            with self._db.write() as session:
                self._require_free_email(session, email)
                row = UserRow(region=self._region, name=body.name, email=email,
                              country=body.country, created_at=now, updated_at=now)
                session.add(row)
                session.flush()
                public = UserPublic.model_validate(row, from_attributes=True)
                enqueue(session, self._region, "user", "created", _event_data(public))
        except IntegrityError as exc:  # a concurrent insert of the same email won the race
            raise ConflictError(f"email: {email} is already registered") from exc
        return public

    def update(self, user_id: int, body: UserUpdate) -> UserPublic:
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
            public = UserPublic.model_validate(row, from_attributes=True)
            if changed:
                data = _event_data(public) | {"changed": sorted(changed)}
                enqueue(session, self._region, "user", "updated", data)
        return public

    def delete(self, user_id: int) -> None:
        with self._db.write() as session:
            public = UserPublic.model_validate(self._row(session, user_id), from_attributes=True)
            session.execute(delete(UserRow).where(UserRow.id == user_id))
            enqueue(session, self._region, "user", "deleted", _event_data(public))

    def _require_free_email(self, session: Session, email: str) -> None:
        if session.scalar(select(UserRow.id).where(UserRow.email == email)) is not None:
            raise ConflictError(f"email: {email} is already registered; use another address")

    def _row(self, session: Session, user_id: int) -> UserRow:
        row = session.get(UserRow, user_id)
        if row is None or row.region != self._region:
            raise NotFoundError(f"user {user_id} does not exist in region {self._region}")
        return row
