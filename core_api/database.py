"""Engines and sessions for one region's database: SQLite by default, PostgreSQL by URL.

SQLite gets WAL (readers never block the writer), ``synchronous=NORMAL`` (durable at each
checkpoint, a commit costs no fsync), a busy timeout, and write transactions that start with
``BEGIN IMMEDIATE``: a deferred transaction that later tries to write can fail at once with
"database is locked" when another writer got there first, whereas IMMEDIATE simply queues.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core_api.errors import ConfigurationError
from kernel.settings import Settings

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
    "PRAGMA mmap_size=134217728",
)


def database_url(settings: Settings, region: str) -> str:
    """The region's URL: ``COVENANT_DATABASE_URL`` with ``{region}`` filled, else a SQLite file."""
    if settings.database_url:
        url = settings.database_url.replace("{region}", region)
        try:
            make_url(url)
        except Exception as exc:
            raise ConfigurationError(
                f"COVENANT_DATABASE_URL={settings.database_url!r} is not a SQLAlchemy URL "
                "(e.g. postgresql+psycopg://user@host/covenant_{region})"
            ) from exc
        return url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.data_dir / f'core_{region}.sqlite3').resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, read_only: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=False)
        _configure_sqlite(engine, read_only)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, read_only: bool) -> None:
    pragmas = (*_SQLITE_PRAGMAS, "PRAGMA query_only=ON") if read_only else _SQLITE_PRAGMAS

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN can be IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass
class Database:
    """A region's engine with its read and write session factories.

    SQLite also gets a second, ``query_only`` engine for the hot read path, so that a
    connection that serves reads never commits a write itself: then its
    ``PRAGMA data_version`` changes on every commit to the file (see ``page_cache``).
    """

    engine: Engine
    reads: sessionmaker[Session]
    writes: sessionmaker[Session]
    read_engine: Engine

    @property
    def inline(self) -> bool:
        """Whether request handlers may call this database on the event loop itself.

        SQLite runs in-process and answers in microseconds, so a thread-pool hop would cost
        more than the query; a network database is called from worker threads instead."""
        return is_sqlite(self.engine)

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = make_engine(url)
        write_bind = (engine.execution_options(sqlite_immediate=True) if is_sqlite(engine)
                      else engine)
        return cls(
            engine=engine,
            reads=sessionmaker(engine, expire_on_commit=False),
            writes=sessionmaker(write_bind, expire_on_commit=False),
            read_engine=make_engine(url, read_only=True) if is_sqlite(engine) else engine,
        )

    @classmethod
    def for_region(cls, settings: Settings, region: str) -> Database:
        return cls.connect(database_url(settings, region))

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A plain connection for reads: cheaper than a Session on hot paths."""
        with self.read_engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self.writes() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
