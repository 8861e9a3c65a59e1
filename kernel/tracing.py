"""OpenTelemetry for every Covenant process: one tracer provider per service, exporting over
OTLP/HTTP only when an endpoint is configured, and the W3C ``traceparent`` header read
directly (the front door does it per request, where the propagator's regular expressions
and context plumbing would cost more than the header is worth).

Export is off unless ``settings.otlp_endpoint`` (``COVENANT_OTLP_ENDPOINT``) or the standard
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
``OTEL_SDK_DISABLED=true`` turns it off whatever else is set. The SDK and the exporter are
imported only when a provider is built: the front door with tracing off never loads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

TRACES_PATH = "/v1/traces"
_INVALID_TRACE, _INVALID_SPAN = "0" * 32, "0" * 16
_HEX = frozenset("0123456789abcdef")  # lower case only, as the specification says


def traces_endpoint(setting: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The full URL spans are posted to, or None when export is off.

    ``setting`` (a base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` is) wins; then
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as it is; then ``OTEL_EXPORTER_OTLP_ENDPOINT`` with
    ``/v1/traces`` appended, as the OTLP exporter specification says."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if setting:
        return _with_path(setting)
    full = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if full:
        return full
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return _with_path(base) if base else None


def _with_path(base: str) -> str:
    base = base.strip().rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def build_tracer_provider(service: str, attributes: Mapping[str, str] | None = None,
                          endpoint: str | None = None,
                          exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider whose spans carry ``service.name`` = ``service``; batched to ``exporter``,
    or to an OTLP/HTTP exporter posting to ``endpoint`` (a full URL: ``traces_endpoint``).

    With neither, nothing is recorded (the ``ALWAYS_OFF`` sampler): spans still get ids and
    continue an incoming trace, so trace ids reach the logs and the ``traceparent`` headers,
    but none pays for attributes, timing and processors (~40 us a span on this SDK) only to
    be dropped. With an exporter the sampler is the SDK's: ``OTEL_TRACES_SAMPLER`` (e.g.
    ``parentbased_traceidratio`` with ``OTEL_TRACES_SAMPLER_ARG=0.01``), else every span."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    if exporter is None and endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
    provider = TracerProvider(
        sampler=None if exporter is not None else ALWAYS_OFF,
        resource=Resource.create({**(attributes or {}), "service.name": service}))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def parse_traceparent(value: str) -> SpanContext | None:
    """The remote parent a W3C ``traceparent`` names (``00-<trace>-<span>-<flags>``), or
    None when the header is malformed (the receiver then starts a new trace, as the
    specification says)."""
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff" \
            or (parts[0] == "00" and len(parts) != 4):
        return None
    _, trace_id, span_id, flags = parts[:4]
    if len(trace_id) != 32 or len(span_id) != 16 or len(flags) != 2 \
            or trace_id == _INVALID_TRACE or span_id == _INVALID_SPAN \
            or not _HEX.issuperset(parts[0] + trace_id + span_id + flags):
        return None
    return SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                       trace_flags=TraceFlags(int(flags, 16)))


def remote_parent(value: str) -> Context | None:
    """A context whose current span is the remote parent in ``value``, None if malformed."""
    parent = parse_traceparent(value)
    return trace.set_span_in_context(NonRecordingSpan(parent)) if parent else None
