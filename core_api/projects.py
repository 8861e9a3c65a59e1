"""Project reads and writes in one region's database; every write enqueues its event."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Select, Table, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from core_api.database import Database
from core_api.errors import NotFoundError
from core_api.ids import format_id, parse_id
from core_api.models import ProjectRow
from core_api.numbering import reserve
from core_api.outbox import enqueue
from core_api.page_cache import PageCache
from core_api.project_status import ProjectStatus
from core_api.residency import require_home, require_stays_home
from core_api.schemas import ProjectCreate, ProjectUpdate
from core_api.sectors import Sector
from kernel.clock import Clock, utcnow

logger = logging.getLogger(__name__)
ENTITY = "project"


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project as listed: the fields of ``ProjectPublic`` in its order, built straight from
    a row and serialised by orjson, which skips a pydantic validation per item on the hot
    list path (a test checks both give the same JSON)."""

    id: str
    region: str
    name: str
    country: str
    sector: str
    budget_usd: int
    status: str
    beneficiaries: int
    progress: int
    profit_usd: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProjectPageView:
    total: int
    limit: int
    offset: int
    items: list[ProjectView]


# Naive datetimes are UTC (SQLite drops the zone), written with a ``Z`` as pydantic does.
JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
# On the Table, not the mapped class: a plain Core INSERT skips the ORM's bulk machinery.
_INSERT = insert(cast(Table, ProjectRow.__table__))
_VIEW_FIELDS = tuple(f.name for f in fields(ProjectView))
# The row's columns in the view's order, with (region, number) where the view has its id.
_COLUMNS = (ProjectRow.number, *(getattr(ProjectRow, name) for name in _VIEW_FIELDS[1:]))


def _view(row: Sequence[Any]) -> ProjectView:
    number, region, *rest = row
    return ProjectView(format_id(region, number), region, *rest)


def _view_of(row: ProjectRow) -> ProjectView:
    return _view([getattr(row, column.key) for column in _COLUMNS])


def event_data(view: ProjectView) -> dict[str, object]:
    """The project exactly as the API returns it (string id, ``Z`` timestamps)."""
    data: dict[str, object] = orjson.loads(orjson.dumps(view, option=JSON_OPTIONS))
    return data


@lru_cache(maxsize=8)
def _page_statements(
    country: bool, sector: bool, status: bool
) -> tuple[Select[int], Select[*tuple[Any, ...]]]:
    """The count and page queries for one filter combination, built once: constructing a
    statement costs more than running it on a small SQLite table."""
    where = [ProjectRow.region == bindparam("region")]
    if country:
        where.append(ProjectRow.country == bindparam("country"))
    if sector:
        where.append(ProjectRow.sector == bindparam("sector"))
    if status:
        where.append(ProjectRow.status == bindparam("status"))
    count = select(func.count()).select_from(ProjectRow).where(*where)
    rows = (select(*_COLUMNS).where(*where).order_by(ProjectRow.number)
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return count, rows


# Project paging, as the OpenAPI schema declares it and the fast route checks it.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class ProjectFilter:
    country: str | None = None
    sector: Sector | None = None
    status: ProjectStatus | None = None


class ProjectStore:
    def __init__(self, db: Database, region: str, clock: Clock) -> None:
        self._db = db
        self._region = region
        self._clock = clock
        self._pages = PageCache(enabled=db.inline)

    def page_json(self, f: ProjectFilter, limit: int, offset: int) -> bytes:
        """The page as JSON, reused while the database is unchanged (see ``page_cache``)."""
        with self._db.read() as conn:
            return self._pages.get_or_build(
                conn, (f, limit, offset),
                lambda c: orjson.dumps(self._page(c, f, limit, offset), option=JSON_OPTIONS))

    def _page(self, conn: Connection, f: ProjectFilter, limit: int,
              offset: int) -> ProjectPageView:
        count, rows_query = _page_statements(bool(f.country), bool(f.sector), bool(f.status))
        params = {"region": self._region, "country": f.country, "limit": limit,
                  "offset": offset, "sector": f.sector and f.sector.value,
                  "status": f.status and f.status.value}
        rows = conn.execute(rows_query, params).all()
        # A short first page is the whole result: no need to count.
        short = offset == 0 and len(rows) < limit
        total = len(rows) if short else int(conn.scalar(count, params) or 0)
        items = [_view(row) for row in rows]
        return ProjectPageView(total=total, limit=limit, offset=offset, items=items)

    def get(self, project_id: str) -> ProjectView:
        with self._db.reads() as session:
            return _view_of(self._row(session, project_id))

    def create(self, body: ProjectCreate) -> ProjectView:
        """Create in a transaction of its own (see ``create_in``)."""
        with self._db.write() as session:
            return self.create_in(session, body)

    def create_in(self, session: Session, body: ProjectCreate) -> ProjectView:
        """Create in the caller's write transaction, with its number and its event."""
        require_home(self._region, body.country)
        now = utcnow(self._clock)
        number = reserve(session, self._region, ENTITY)
        values = {"region": self._region, "number": number, **body.model_dump(mode="json"),
                  "created_at": now, "updated_at": now}
        # A Core INSERT: the ORM unit of work cost more than the commit.
        session.execute(_INSERT, values)
        view = _view([values[column.key] for column in _COLUMNS])
        enqueue(session, self._region, ENTITY, "created", event_data(view))
        logger.debug("project %s created in %s", view.id, body.country)
        return view

    def update(self, project_id: str, body: ProjectUpdate) -> ProjectView:
        changes = body.model_dump(mode="json", exclude_none=True)
        if "country" in changes:
            require_stays_home(self._region, changes["country"], ENTITY)
        with self._db.write() as session:
            row = self._row(session, project_id)
            changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                row.updated_at = utcnow(self._clock)
                session.flush()
            view = _view_of(row)
            if changed:
                data = event_data(view) | {"changed": sorted(changed)}
                enqueue(session, self._region, ENTITY, "updated", data)
        return view

    def delete(self, project_id: str) -> None:
        with self._db.write() as session:
            row = self._row(session, project_id)
            view = _view_of(row)
            session.execute(delete(ProjectRow).where(ProjectRow.region == row.region,
                                                     ProjectRow.number == row.number))
            enqueue(session, self._region, ENTITY, "deleted", event_data(view))

    def _row(self, session: Session, project_id: str) -> ProjectRow:
        number = parse_id(ENTITY, "project_id", project_id, self._region)
        row = session.get(ProjectRow, (self._region, number))
        if row is None:
            raise NotFoundError(f"project {project_id} does not exist in region {self._region}")
        return row
