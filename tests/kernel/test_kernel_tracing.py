"""Where spans go (the setting, then the standard variables, else nowhere) and the W3C
``traceparent`` header read and written."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext

from kernel.settings import Settings
from kernel.tracing import (
    build_tracer_provider,
    parse_traceparent,
    remote_parent,
    traces_endpoint,
)

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(("setting", "env", "expected"), [
    (None, {}, None),
    ("http://c:4318", {}, "http://c:4318/v1/traces"),
    ("http://c:4318/", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"},
     "http://c:4318/v1/traces"),
    ("http://c:4318/v1/traces", {}, "http://c:4318/v1/traces"),
    (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://o:4318"}, "http://o:4318/v1/traces"),
    (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://o:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/custom"}, "http://t:1/custom"),
    ("http://c:4318", {"OTEL_SDK_DISABLED": "true"}, None),
])
def test_where_spans_go(setting: str | None, env: dict[str, str], expected: str | None) -> None:
    assert traces_endpoint(setting, env) == expected


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVENANT_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert Settings().tracing.otlp_endpoint == "http://127.0.0.1:4318"


def header(ctx: SpanContext) -> str:
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def test_traceparent_read() -> None:
    ctx = parse_traceparent(VALID)
    assert ctx is not None and ctx.is_remote and ctx.trace_flags.sampled
    assert header(ctx) == VALID
    assert remote_parent(VALID) is not None
    unsampled = parse_traceparent(VALID[:-2] + "00")
    assert unsampled is not None and not unsampled.trace_flags.sampled


@pytest.mark.parametrize("bad", [
    "", "garbage", VALID.upper(), VALID.replace("00-", "ff-", 1), VALID + "-extra",
    "00-" + "0" * 32 + "-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-"
    + "0" * 16 + "-01", VALID.replace("b7ad", "b7ag"), "00-0af76519-b7ad6b7169203331-01",
])
def test_a_malformed_traceparent_names_no_parent(bad: str) -> None:
    assert parse_traceparent(bad) is None and remote_parent(bad) is None


def test_a_later_version_may_carry_more_fields() -> None:
    assert parse_traceparent(VALID.replace("00-", "01-", 1) + "-more") is not None


def test_a_provider_exports_only_where_told() -> None:
    quiet = build_tracer_provider("svc")
    given = build_tracer_provider("svc", {"k": "v"}, exporter=InMemorySpanExporter())
    posting = build_tracer_provider("svc", endpoint="http://127.0.0.1:9/v1/traces")
    try:
        assert not quiet._active_span_processor._span_processors
        assert len(given._active_span_processor._span_processors) == 1
        assert len(posting._active_span_processor._span_processors) == 1
        assert given.resource.attributes["service.name"] == "svc"
        assert given.resource.attributes["k"] == "v"
    finally:
        for provider in (quiet, given, posting):
            provider.shutdown()


def test_without_an_exporter_spans_carry_ids_but_record_nothing() -> None:
    provider = build_tracer_provider("svc")
    try:
        span = provider.get_tracer("t").start_span("x", context=remote_parent(VALID))
        assert not span.is_recording()
        assert header(span.get_span_context()).startswith(VALID[:36])
    finally:
        provider.shutdown()
