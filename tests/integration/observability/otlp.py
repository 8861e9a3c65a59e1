"""An OTLP/HTTP trace receiver inside the test: ``POST /v1/traces`` with a protobuf
``ExportTraceServiceRequest`` (gzip or not), as the OpenTelemetry exporters send it; every
span kept with the ``service.name`` of the process that sent it."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto

PATH = "/v1/traces"
SERVER, CLIENT, INTERNAL = (SpanProto.SpanKind.SPAN_KIND_SERVER,
                            SpanProto.SpanKind.SPAN_KIND_CLIENT,
                            SpanProto.SpanKind.SPAN_KIND_INTERNAL)
Value = str | int | float | bool


@dataclass(frozen=True)
class Span:
    service: str
    resource: Mapping[str, Value]
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    kind: int
    attributes: Mapping[str, Value]
    start_ns: int
    end_ns: int

    def child_of(self, other: Span) -> bool:
        return self.trace_id == other.trace_id and self.parent_id == other.span_id


def _value(v: AnyValue) -> Value:
    which = v.WhichOneof("value")
    return getattr(v, which) if which in ("string_value", "int_value", "double_value",
                                          "bool_value") else str(v)


def _attributes(pairs: Iterator[KeyValue] | list[KeyValue]) -> dict[str, Value]:
    return {kv.key: _value(kv.value) for kv in pairs}


def decode(body: bytes) -> list[Span]:
    """Every span of one export request, with its resource's attributes."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out: list[Span] = []
    for rs in request.resource_spans:
        resource = _attributes(list(rs.resource.attributes))
        service = str(resource.get("service.name", ""))
        for scope in rs.scope_spans:
            out += [Span(service, resource, s.trace_id.hex(), s.span_id.hex(),
                         s.parent_span_id.hex(), s.name, s.kind, _attributes(list(s.attributes)),
                         s.start_time_unix_nano, s.end_time_unix_nano) for s in scope.spans]
    return out


class OtlpReceiver:
    """Collects what is posted to ``url`` + ``/v1/traces``; anything else is a 404."""

    def __init__(self) -> None:
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != PATH:
                    self.send_error(404)
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.add(decode(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        """The base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``otlp_endpoint`` take it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, spans: list[Span]) -> None:
        with self._lock:
            self._spans += spans
            self.requests += 1

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
