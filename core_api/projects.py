"""Project reads and writes in one region's database; every write enqueues its event."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Select, Table, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from core_api.database import Database
from core_api.errors import NotFoundError
from core_api.models import ProjectRow
from core_api.outbox import enqueue
from core_api.page_cache import PageCache
from core_api.project_status import ProjectStatus
from core_api.residency import require_home
from core_api.schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from core_api.sectors import Sector
from kernel.clock import Clock, utcnow

logger = logging.getLogger(__name__)
_COLUMNS = tuple(getattr(ProjectRow, name) for name in ProjectPublic.model_fields)


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project as listed: the fields of ``ProjectPublic`` in its order, built straight from
    a row and serialised by orjson, which skips a pydantic validation per item on the hot
    list path (a test checks both give the same JSON)."""

    id: int
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


# On the Table, not the mapped class: a plain Core INSERT skips the ORM's bulk machinery.
# Naive datetimes are UTC (SQLite drops the zone), written with a ``Z`` as pydantic does.
JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_TABLE = cast(Table, ProjectRow.__table__)
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_VIEW_FIELDS = tuple(f.name for f in fields(ProjectView))


def _event_data(view: ProjectView) -> dict[str, object]:
    data: dict[str, object] = {name: getattr(view, name) for name in _VIEW_FIELDS}
    data["created_at"] = view.created_at.isoformat()
    data["updated_at"] = view.updated_at.isoformat()
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
    count = select(func.count(ProjectRow.id)).where(*where)
    rows = (select(*_COLUMNS).where(*where).order_by(ProjectRow.id)
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
        items = [ProjectView(*row) for row in rows]
        return ProjectPageView(total=total, limit=limit, offset=offset, items=items)

    def get(self, project_id: int) -> ProjectPublic:
        with self._db.reads() as session:
            row = self._row(session, project_id)
            return ProjectPublic.model_validate(row, from_attributes=True)

    def create(self, body: ProjectCreate) -> ProjectView:
        require_home(self._region, body.country)
        now = utcnow(self._clock)
        values = {"region": self._region, **body.model_dump(mode="json"),
                  "created_at": now, "updated_at": now}
        with self._db.write() as session:
            # A Core INSERT ... RETURNING: the ORM unit of work cost more than the commit.
            new_id = session.execute(_INSERT, values).scalar_one()
            view = ProjectView(id=new_id, **values)
            enqueue(session, self._region, "project", "created", _event_data(view))
        logger.debug("project %d created in %s", new_id, body.country)
        return view

    def update(self, project_id: int, body: ProjectUpdate) -> ProjectPublic:
        changes = body.model_dump(mode="json", exclude_none=True)
        if "country" in changes:
            require_home(self._region, changes["country"])
        with self._db.write() as session:
            row = self._row(session, project_id)
            changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                row.updated_at = utcnow(self._clock)
                session.flush()
            public = ProjectPublic.model_validate(row, from_attributes=True)
            if changed:
                data = public.model_dump(mode="json") | {"changed": sorted(changed)}
                enqueue(session, self._region, "project", "updated", data)
        return public

    def delete(self, project_id: int) -> None:
        with self._db.write() as session:
            public = ProjectPublic.model_validate(self._row(session, project_id),
                                                  from_attributes=True)
            session.execute(delete(ProjectRow).where(ProjectRow.id == project_id))
            enqueue(session, self._region, "project", "deleted", public.model_dump(mode="json"))

    def _row(self, session: Session, project_id: int) -> ProjectRow:
        row = session.get(ProjectRow, project_id)
        if row is None or row.region != self._region:
            raise NotFoundError(f"project {project_id} does not exist in region {self._region}")
        return row
