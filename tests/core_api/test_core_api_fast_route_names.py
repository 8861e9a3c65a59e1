"""A request a fast route answers is named by its template like any other: the metrics'
route label and the server span's name (the front door's span names match them)."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from core_api.app import create_app
from kernel.settings import Settings
from tests.core_api.test_core_api_fault_injection import requests_series


async def test_fast_routes_are_labelled_and_traced_by_their_template(
        core_settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(core_settings, "ams", span_exporter=exporter)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/v1/countries/FRA")).status_code == 200
        assert (await client.get("/v1/projects?limit=2")).status_code == 200
        counted = requests_series((await client.get("/metrics")).text)
    assert counted[("/v1/countries/{iso3}", "200")] == 1.0
    assert counted[("/v1/projects", "200")] == 1.0
    assert ("<unmatched>", "200") not in counted
    names = [s.name for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert names[:2] == ["GET /v1/countries/{iso3}", "GET /v1/projects"]
