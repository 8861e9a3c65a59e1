"""Before ``covenant up --config`` starts anything: is every service its settings name there?

Each missing one is reported as one line naming it and the fix (not a traceback from deep
inside a region process). ``explain`` is pure and table-tested; ``check`` does the I/O.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kernel.regions import REGION_CODES
from kernel.settings import Settings

TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Target:
    setting: str  # the settings field that names it
    kind: str     # "database", "nats", "redis", "prometheus"
    url: str


def targets(settings: Settings, regions: Iterable[str] = REGION_CODES,
            started_prometheus: str | None = None) -> list[Target]:
    """What the settings point at: the region databases (one per region when the URL has
    ``{region}``), the state store, NATS, Redis and Prometheus - unless ``prometheus_url``
    names ``started_prometheus``, the one ``covenant up --with-prometheus`` is about to
    start (it cannot answer before it starts)."""
    out: list[Target] = []
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        urls = dict.fromkeys(settings.database_url.replace("{region}", r) for r in regions)
        out += [Target("database_url", "database", u) for u in urls]
    if settings.state_url and not settings.state_url.startswith("sqlite"):
        out.append(Target("state_url", "database", settings.state_url))
    if settings.nats_url:
        out.append(Target("nats_url", "nats", settings.nats_url))
    if settings.redis_url:
        out.append(Target("redis_url", "redis", settings.redis_url))
    if settings.prometheus_url and not same_server(settings.prometheus_url,
                                                   started_prometheus):
        out.append(Target("prometheus_url", "prometheus", settings.prometheus_url))
    return out


def explain(target: Target, error: str) -> str:
    """One line: what is missing, where, and how to fix it."""
    fix = f"or change settings.{target.setting}"
    if target.kind == "database":
        try:
            url = make_url(target.url)
        except ArgumentError:
            return f"settings.{target.setting} {target.url!r} is not a database URL: use " \
                   "postgresql+psycopg://user@host:port/name"
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        if "does not exist" in error and "database" in error:
            return (f"database {url.database} does not exist at {where}: create it with "
                    f"createdb -h {url.host or 'localhost'} -p {url.port or 5432} "
                    f"-U {url.username or 'postgres'} {url.database}, {fix}")
        if "password authentication failed" in error or "no pg_hba.conf entry" in error:
            return f"PostgreSQL at {where} refused user {url.username}: {_first(error)}; " \
                   f"grant access, {fix}"
        return f"PostgreSQL is not answering at {where} ({_first(error)}): start it, {fix}"
    where = _host_port(target.url)
    start = {"nats": "start nats-server -js", "redis": "start redis-server",
             "prometheus": "start prometheus"}[target.kind]
    name = {"nats": "NATS", "redis": "Redis", "prometheus": "Prometheus"}[target.kind]
    return f"{name} is not answering at {where} ({_first(error)}): {start}, {fix}"


def same_server(url: str, other: str | None) -> bool:
    """Whether two HTTP URLs name one server: the same port, and the same host or both on
    this machine (``localhost``, ``127.0.0.1``, ``::1``). Pure."""
    if other is None:
        return False
    try:
        a, b = httpx.URL(url), httpx.URL(other)
    except httpx.InvalidURL:
        return False
    if (a.port or 80) != (b.port or 80):
        return False
    return a.host == b.host or {a.host, b.host} <= _LOOPBACK


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def check(settings: Settings, regions: Iterable[str] = REGION_CODES,
          started_prometheus: str | None = None) -> list[str]:
    """One line per target that is not there; empty when all answer."""
    problems = []
    for target in targets(settings, regions, started_prometheus):
        error = _probe(target)
        if error is not None:
            problems.append(explain(target, error))
    return problems


def _probe(target: Target) -> str | None:
    try:
        if target.kind == "database":
            engine = create_engine(target.url, connect_args=_connect_timeout(target.url))
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            finally:
                engine.dispose()
        elif target.kind == "prometheus":
            httpx.get(target.url.rstrip("/") + "/-/ready", timeout=TIMEOUT_S).raise_for_status()
        else:
            host, port = _split(target.url)
            socket.create_connection((host, port), timeout=TIMEOUT_S).close()
    except (SQLAlchemyError, OSError, httpx.HTTPError, ArgumentError, ValueError) as exc:
        return str(exc)
    return None


def _connect_timeout(url: str) -> dict[str, object]:
    return {"connect_timeout": int(TIMEOUT_S)} if url.startswith("postgresql") else {}


def _split(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    default = {"nats": 4222, "redis": 6379}.get(parsed.scheme, 80)
    return parsed.host or "127.0.0.1", parsed.port or default


def _host_port(url: str) -> str:
    try:
        host, port = _split(url)
    except (httpx.InvalidURL, ValueError):
        return url
    return f"{host}:{port}"


def _first(error: str) -> str:
    """The first line of a driver's error, without SQLAlchemy's background link."""
    line = error.strip().splitlines()[0] if error.strip() else "no answer"
    return line.split("(Background on this error")[0].strip()
