"""Probes, /metrics, traceparent, JSON logs and the 413 body limit."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider

from core_api.app import create_app
from core_api.logs import JsonFormatter
from kernel.settings import Settings


async def test_live_ready_health(api) -> None:
    assert (await api.client.get("/live")).status_code == 200
    ready = await api.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    health = (await api.client.get("/health")).json()
    assert health["status"] == "ok" and health["region"] == "ams"
    assert health["database"]["dialect"] == "sqlite"
    assert health["database"]["revision"] == health["database"]["head"] is not None
    assert (health["cache"], health["event_bus"]) == ("none", "in-process")


async def test_not_ready_until_migrated(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, nats_url=None, redis_url=None)
    app = create_app(settings, "syd")  # an empty database: no migrations applied
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503 and "covenant db upgrade" in ready.json()["reason"]
        assert (await client.get("/health")).json()["status"] == "degraded"
        assert (await client.get("/live")).status_code == 200


async def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, nats_url=None, redis_url=None,
                        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(settings, "ams")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503 and "unreachable" in ready.json()["reason"]
        health = (await client.get("/health")).json()
        assert health["database"]["reachable"] is False


def series(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name)]


async def test_metrics_use_route_templates_and_own_registry(api) -> None:
    await api.client.get("/v1/projects/ams-1")
    await api.client.get("/v1/projects/ams-2")
    await api.client.get("/no/such/path")
    text = (await api.client.get("/metrics")).text
    requests = series(text, "http_requests_total{")
    assert any('route="/v1/projects/{project_id}"' in s and 'region="ams"' in s
               and 'method="GET"' in s and 'status="200"' in s and s.endswith(" 2.0")
               for s in requests), requests
    assert not any("/v1/projects/ams-1" in s for s in requests)
    assert any('route="<unmatched>"' in s and 'status="404"' in s for s in requests)
    buckets = series(text, "http_request_duration_seconds_bucket{")
    assert any('le="0.001"' in b for b in buckets)
    assert re.search(r'db_pool_connections\{region="ams",state="checked_out"\} \d', text)
    assert 'outbox_pending_events{region="ams"}' in text
    # Another app has its own registry: nothing of ours shows up there.
    other = create_app(api.settings, "iad")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other),
                                 base_url="http://t") as client:
        assert "/v1/projects/{project_id}" not in (await client.get("/metrics")).text


async def test_outbox_pending_gauge_counts_unpublished_rows(core_settings: Settings) -> None:
    app = create_app(core_settings, "ams")  # no lifespan: no relay publishes the rows
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        for i in range(3):
            body = {"name": f"p{i}", "country": "DEU", "sector": "water", "budget_usd": 1}
            assert (await client.post("/v1/projects", json=body)).status_code == 201
        text = (await client.get("/metrics")).text
        assert 'outbox_pending_events{region="ams"} 3.0' in text


async def test_traceparent_in_and_out(api) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    incoming = f"00-{trace_id}-00f067aa0ba902b7-01"
    r = await api.client.get("/v1/countries/FRA", headers={"traceparent": incoming})
    out = r.headers["traceparent"]
    assert out.startswith(f"00-{trace_id}-") and not out.endswith("00f067aa0ba902b7-01")
    fresh = (await api.client.get("/v1/countries/FRA")).headers["traceparent"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", fresh)
    assert trace_id not in fresh


def test_json_logs_carry_the_trace_id() -> None:
    tracer = TracerProvider().get_tracer("test")
    record = logging.LogRecord("core_api.x", logging.INFO, __file__, 1, "hello %s", ("w",), None)
    with tracer.start_as_current_span("op") as span:
        line = json.loads(JsonFormatter(region="ams").format(record))
    assert line["msg"] == "hello w" and line["region"] == "ams" and line["level"] == "info"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    outside = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in outside


async def test_oversized_bodies_get_413(api) -> None:
    limit = api.settings.api_max_body_bytes
    big = b'{"name":"' + b"x" * (limit + 10) + b'"}'
    declared = await api.client.post("/v1/projects", content=big,
                                     headers={"content-type": "application/json"})
    assert declared.status_code == 413 and str(limit) in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 1000 + 5):
            yield b" " * 1000

    chunked = await api.client.post("/v1/users", content=chunks(),
                                     headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    text = (await api.client.get("/metrics")).text
    assert any('status="413"' in s for s in series(text, "http_requests_total{"))
    small = await api.client.post("/v1/users", json={"name": "a", "email": "a@b.co",
                                                     "country": "FRA"})
    assert small.status_code == 201


async def test_server_and_database_spans(core_settings: Settings) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    exporter = InMemorySpanExporter()
    app = create_app(core_settings, "ams", span_exporter=exporter)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        trace_id = "0af7651916cd43dd8448eb211c80319c"
        await client.get("/v1/projects/ams-3", headers={
            "traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    spans = exporter.get_finished_spans()  # the lifespan's shutdown flushed the batch
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert [s.name for s in server] == ["GET /v1/projects/{project_id}"]
    assert format(server[0].context.trace_id, "032x") == trace_id
    db = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert db and all(s.parent is not None and s.parent.span_id == server[0].context.span_id
                      for s in db)
    assert db[0].attributes is not None and "projects" in str(db[0].attributes["db.query.text"])


def test_otlp_exporter_only_when_endpoint_set() -> None:
    from core_api.tracing import build_tracer_provider

    quiet = build_tracer_provider("ams", env={})
    loud = build_tracer_provider("ams", env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})
    try:
        assert not quiet._active_span_processor._span_processors
        assert len(loud._active_span_processor._span_processors) == 1
    finally:
        quiet.shutdown()
        loud.shutdown()
