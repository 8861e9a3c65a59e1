"""Per-region numbers for projects and users: a counter row per (region, entity).

``reserve`` takes the next numbers inside the caller's write transaction, so a rolled-back
create gives its number back and a committed one never hands it out again (a deleted
project's id is not reused: a stale link must not find a different project). On PostgreSQL
the counter row's lock orders concurrent creates of one region; SQLite writes are serial.
A missing counter starts after the largest number the region already has.
"""

from __future__ import annotations

from sqlalchemy import String, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core_api.errors import ConfigurationError
from core_api.models import IdCounterRow, ProjectRow, UserRow

_NUMBERED: dict[str, type[ProjectRow] | type[UserRow]] = {"project": ProjectRow, "user": UserRow}
_COLUMNS = ["region", "entity", "last"]


def reserve(session: Session, region: str, entity: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of ``entity`` in ``region``; returns the first."""
    last = _advance(session, region, entity, count)
    if last is None:
        _create_counter(session, region, entity)
        last = _advance(session, region, entity, count)
    assert last is not None, "the counter row exists after _create_counter"
    return last - count + 1


def _advance(session: Session, region: str, entity: str, count: int) -> int | None:
    statement = (update(IdCounterRow)
                 .where(IdCounterRow.region == region, IdCounterRow.entity == entity)
                 .values(last=IdCounterRow.last + count).returning(IdCounterRow.last))
    value: int | None = session.scalar(statement)
    return value


def _create_counter(session: Session, region: str, entity: str) -> None:
    """Insert the counter at the region's largest number; a concurrent insert wins quietly."""
    table = _NUMBERED[entity]
    # SQLite needs the WHERE: it tells its parser the SELECT ends before ON CONFLICT.
    largest = (select(literal(region, String), literal(entity, String),
                      func.coalesce(func.max(table.number), 0))
               .where(table.region == region))
    keys = ["region", "entity"]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(sqlite.insert(IdCounterRow).from_select(_COLUMNS, largest)
                        .on_conflict_do_nothing(index_elements=keys))
    elif dialect == "postgresql":
        session.execute(postgresql.insert(IdCounterRow).from_select(_COLUMNS, largest)
                        .on_conflict_do_nothing(index_elements=keys))
    else:
        raise ConfigurationError(
            f"the core API numbers ids on sqlite or postgresql, not {dialect}; "
            "point COVENANT_DATABASE_URL at PostgreSQL")
