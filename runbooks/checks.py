"""Ready-made check runners: HTTP, SQL and PromQL need no sibling package; probes are a table
the composition root fills with the control plane's readers.

A check only reads: the SQL runner opens a read-only transaction (PostgreSQL) or sets
``query_only`` (SQLite) and always rolls back, so a mistyped ``DELETE`` in a runbook fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from runbooks.errors import RunbookError
from runbooks.expect import CheckSpec
from runbooks.ports import CallContext, CheckResult
from runbooks.templating import ArgValue, Scalar

ProbeFn = Callable[[Mapping[str, ArgValue]], Awaitable[Scalar | None]]


class ProbeTable:
    """``type: probe`` checks: one async function per probe name (see runbooks.probes)."""

    def __init__(self, probes: Mapping[str, ProbeFn]) -> None:
        self._probes = probes

    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        probe = self._probes.get(check.probe)
        if probe is None:
            raise RunbookError(f"probe {check.probe!r} is not wired; wired: "
                               f"{', '.join(sorted(self._probes)) or 'none'}")
        return CheckResult(await probe(check.args))


class HttpCheckRunner:
    """The observed value is the HTTP status code; the detail the start of the body."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        response = await self._client.request(check.method, check.url)
        return CheckResult(response.status_code, response.text[:120].strip())


class PromqlCheckRunner:
    """An instant query against Prometheus's HTTP API; the value is the first sample's value
    (None when the query returns no series: "no data" is for the expectation to judge)."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self._url, self._client = base_url.rstrip("/") + "/api/v1/query", client

    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        response = await self._client.get(self._url, params={"query": check.query})
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise RunbookError(f"Prometheus refused the query: {body.get('error', body)}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return CheckResult(float(data["result"][1]))
        result = data["result"]
        if not result:
            return CheckResult(None, "no series")
        return CheckResult(float(result[0]["value"][1]), f"{len(result)} series")


class SqlCheckRunner:
    """The first column of the first row (None when no row), read-only, on a named engine."""

    def __init__(self, engines: Mapping[str, Engine]) -> None:
        self._engines = engines

    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        engine = self._engines.get(check.database)
        if engine is None:
            raise RunbookError(f"no database {check.database!r} is wired for SQL checks; "
                               f"wired: {', '.join(sorted(self._engines)) or 'none'}")
        return await asyncio.to_thread(_read_scalar, engine, check.query)


def _read_scalar(engine: Engine, query: str) -> CheckResult:
    with engine.connect() as conn:
        dialect = conn.dialect.name
        try:
            if dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            elif dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
            row = conn.execute(text(query)).first()
        finally:
            conn.rollback()
            if dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = OFF")
    value = None if row is None else row[0]
    if value is not None and not isinstance(value, str | int | float | bool):
        value = str(value)
    return CheckResult(value, "no row" if row is None else "")
