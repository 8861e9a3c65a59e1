"""What tracing costs the front door: CPU per relayed request with tracing off and on.

Two front door processes (``python -m controlplane.frontdoor``) side by side in front of one
tiny origin in this process: one with tracing off (no endpoint), one exporting a span per
request over OTLP/HTTP to a sink in this process that decodes and counts them. Rounds of
the same keep-alive GETs alternate between the two, and each front door's CPU time
(user + system, all threads: the exporter's included) is read from the kernel before and
after each round. Reported: CPU microseconds per request for each, the difference, and the
spans the sink received against the requests sent (the batch processor drops spans when its
queue is full).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import psutil

from bench import child_env, loadgen

HOST = "127.0.0.1"
PATH = "/v1/countries/AUS"
ANSWER = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n' \
    b'{"iso3":"AUS"}\n'
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class _Origin(asyncio.Protocol):
    """Answers every request on the connection with ``ANSWER`` (GETs without bodies)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4:]
            if self.transport is not None:
                self.transport.write(ANSWER)


@dataclass
class Sink:
    """An OTLP/HTTP receiver that counts the spans it is sent."""

    spans: int = 0
    exports: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        n = sum(len(s.spans) for rs in request.resource_spans for s in rs.scope_spans)
        with self.lock:
            self.spans += n
            self.exports += 1


@contextmanager
def _sink() -> Iterator[tuple[Sink, str]]:
    sink = Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            sink.add(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer((HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield sink, f"http://{HOST}:{server.server_address[1]}/v1/traces"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Mode:
    """One front door process: whether it exports spans, and its extra environment."""

    name: str
    traced: bool
    env: dict[str, str] = field(default_factory=dict)
    client_traceparent: bool = False  # the client sends a (sampled) traceparent


MODES = (
    Mode("off", False),
    Mode("on", True),
    Mode("on_client_traceparent", True, client_traceparent=True),
    Mode("on_sampled_1pct", True, {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                                   "OTEL_TRACES_SAMPLER_ARG": "0.01"}),
)


@contextmanager
def _front_door(origin: int, work: Path, mode: Mode, otlp: str) -> Iterator[tuple[int, int]]:
    """(port, pid) of a front door relaying every request to ``origin``."""
    from controlplane.frontdoor_config import FrontDoorConfig

    ready = work / f"{mode.name}.ready.json"
    config = FrontDoorConfig(endpoints={"syd": f"http://{HOST}:{origin}"}, homes={"AUS": "syd"},
                             nearest={"syd": []}, default_region="syd", host=HOST, port=0,
                             ready_file=str(ready), otlp_endpoint=otlp if mode.traced else "")
    path = work / f"{mode.name}.json"
    data = json.loads(config.to_json())
    if not mode.traced:
        data.pop("otlp_endpoint")  # as a front door without tracing was configured before
    path.write_text(json.dumps(data))
    env = child_env(OTEL_EXPORTER_OTLP_ENDPOINT="", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="",
                    **mode.env)
    proc = subprocess.Popen([sys.executable, "-m", "controlplane.frontdoor", "--config",
                             str(path), "--log-level", "WARNING"], env=env)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"front door {mode.name} did not start (exit {proc.poll()})")
            time.sleep(0.05)
        yield int(json.loads(ready.read_text())["port"]), proc.pid
    finally:
        proc.terminate()  # SIGTERM: a traced one flushes its last batch first
        proc.wait(timeout=30)


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def _round(port: int, pid: int, raw: bytes, requests: int, connections: int) -> float:
    """CPU seconds the front door spent on ``requests`` GETs over ``connections``."""
    conns = [await loadgen.Connection.open(HOST, port) for _ in range(connections)]
    per = requests // connections
    before = _cpu_s(pid)

    async def worker(conn: loadgen.Connection) -> None:
        for _ in range(per):
            status = await conn.send(raw)
            if status != 200:
                raise RuntimeError(f"front door answered {status}")

    await asyncio.gather(*(worker(c) for c in conns))
    spent = _cpu_s(pid) - before
    for c in conns:
        c.close()
    return spent


def _request(traced: bool) -> bytes:
    extra = f"traceparent: {TRACEPARENT}\r\n" if traced else ""
    return f"GET {PATH} HTTP/1.1\r\nHost: {HOST}\r\n{extra}\r\n".encode()


async def measure(rounds: int, requests: int, connections: int,
                  modes: Sequence[Mode] = MODES) -> dict[str, object]:
    """Each mode's median CPU per request over ``rounds`` rounds taken in turns."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Origin, HOST, 0)
    origin = server.sockets[0].getsockname()[1]
    cpu: dict[str, list[float]] = {m.name: [] for m in modes}
    per_round = requests // connections * connections
    with tempfile.TemporaryDirectory(prefix="covenant-bench-tracing-") as tmp, \
            _sink() as (sink, url), ExitStack() as stack:
        doors = {m.name: stack.enter_context(_front_door(origin, Path(tmp), m, url))
                 for m in modes}
        for m in modes:  # warm up: connections, caches, the exporter thread
            await _round(*doors[m.name], _request(m.client_traceparent), 2_000, connections)
        for _ in range(rounds):
            for m in modes:
                cpu[m.name].append(await _round(*doors[m.name], _request(m.client_traceparent),
                                                per_round, connections))
        stack.close()  # every front door stopped: the last batches are in
        traced = [m for m in modes if m.traced and not m.env]
        sent = len(traced) * (2_000 + rounds * per_round)
    server.close()
    us = {k: round(statistics.median(v) / per_round * 1e6, 1) for k, v in cpu.items()}
    base = us[modes[0].name]
    return {"rounds": rounds, "requests_per_round": per_round, "connections": connections,
            "cpu_us_per_request": us,
            "added_us_per_request": {k: round(v - base, 1) for k, v in us.items()},
            "spans_sent_always_on": sent, "spans_received": sink.spans,
            "exports": sink.exports, "load_average_1m": round(psutil.getloadavg()[0], 2)}


def run_cli(as_json: bool, rounds: int, requests: int, connections: int) -> None:
    import uvloop

    figures = uvloop.run(measure(rounds, requests, connections))
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    if as_json:
        print(json.dumps(figures))
