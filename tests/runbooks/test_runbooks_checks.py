"""The ready-made check runners: HTTP and PromQL through httpx's MockTransport, SQL on a
SQLite file (read-only), and the probe table."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from runbooks.checks import HttpCheckRunner, ProbeTable, PromqlCheckRunner, SqlCheckRunner
from runbooks.errors import RunbookError
from runbooks.expect import CheckSpec
from runbooks.ports import CallContext

CTX = CallContext(1, "rb", "step", "syd")


async def test_http_observes_the_status_code() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.url.path == "/ready" else 200, text="not ready")

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        runner = HttpCheckRunner(client)
        got = await runner.check(CheckSpec(type="http", url="http://x/ready"), CTX)
    assert (got.value, got.detail) == (503, "not ready")


@pytest.mark.parametrize(("data", "value", "detail"), [
    ({"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.25"]}]}, 0.25,
     "1 series"),
    ({"resultType": "vector", "result": []}, None, "no series"),
    ({"resultType": "scalar", "result": [1, "3"]}, 3.0, ""),
])
async def test_promql_reads_the_first_sample(data: dict[str, object], value: object,
                                             detail: str) -> None:
    queries: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        queries.append(request.url.params["query"])
        return httpx.Response(200, json={"status": "success", "data": data})

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        runner = PromqlCheckRunner("http://prom:9090/", client)
        got = await runner.check(CheckSpec(type="promql", query="up{region=\"syd\"}"), CTX)
    assert (got.value, got.detail, queries) == (value, detail, ['up{region="syd"}'])


async def test_sql_reads_a_scalar_and_never_writes(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE outbox_events (id INTEGER, published_at TEXT)")
        conn.exec_driver_sql("INSERT INTO outbox_events VALUES (1, NULL), (2, NULL)")
    runner = SqlCheckRunner({"core-syd": engine})
    query = "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
    got = await runner.check(CheckSpec(type="sql", database="core-syd", query=query), CTX)
    assert got.value == 2
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        await runner.check(CheckSpec(type="sql", database="core-syd",
                                     query="DELETE FROM outbox_events"), CTX)
    again = await runner.check(CheckSpec(type="sql", database="core-syd", query=query), CTX)
    assert again.value == 2
    with pytest.raises(RunbookError, match="no database 'core-sin' is wired"):
        await runner.check(CheckSpec(type="sql", database="core-sin", query=query), CTX)
    engine.dispose()


async def test_the_probe_table_calls_the_named_probe() -> None:
    async def role(args: object) -> str:
        return f"primary:{args}"

    table = ProbeTable({"db.role": role})
    got = await table.check(CheckSpec(type="probe", probe="db.role", args={"node": "x"}), CTX)
    assert got.value == "primary:{'node': 'x'}"
    with pytest.raises(RunbookError, match="probe 'cache.ping' is not wired; wired: db.role"):
        await table.check(CheckSpec(type="probe", probe="cache.ping"), CTX)
