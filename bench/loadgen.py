"""A small HTTP/1.1 keep-alive load generator for the benchmark.

httpx costs more CPU per request than the servers under test; on two shared cores that
would measure the client. This speaks just enough HTTP/1.1 (fixed requests, Content-Length
responses) to keep the client cheap. Closed loop: ``concurrency`` connections each send the
next request when the last answered. Open loop: requests start on a fixed schedule and
latency counts from the scheduled time, so a stall is not hidden (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter

RequestFactory = Callable[[int], bytes]


def get_request(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode()


def post_request(host: str, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


@dataclass
class Result:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def record(self, status: int, latency: float) -> None:
        self.latencies_s.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def extend(self, other: Result) -> None:
        """Add another run's figures (one scenario measured in several slices)."""
        self.latencies_s.extend(other.latencies_s)
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.elapsed_s += other.elapsed_s

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> int:
        status, _ = await self._exchange(raw, keep_body=False)
        return status

    async def fetch(self, raw: bytes) -> bytes:
        """The response body (for the occasional check, not the measured loop)."""
        _, body = await self._exchange(raw, keep_body=True)
        return body

    async def _exchange(self, raw: bytes, keep_body: bool) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding":
                raise RuntimeError("loadgen reads Content-Length responses only")
        body = await self.reader.readexactly(length) if length else b""
        return status, body if keep_body else b""

    def close(self) -> None:
        self.writer.close()


async def closed_loop(host: str, port: int, make: RequestFactory, concurrency: int,
                      duration_s: float) -> Result:
    result = Result()
    counter = itertools.count()
    conns = [await Connection.open(host, port) for _ in range(concurrency)]
    deadline = perf_counter() + duration_s

    async def worker(conn: Connection) -> None:
        while perf_counter() < deadline:
            raw = make(next(counter))
            start = perf_counter()
            status = await conn.send(raw)
            result.record(status, perf_counter() - start)

    started = perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    result.elapsed_s = perf_counter() - started
    for c in conns:
        c.close()
    return result


async def open_loop(host: str, port: int, make: RequestFactory, rate: float,
                    duration_s: float, max_connections: int = 64) -> Result:
    result = Result()
    idle: list[Connection] = [await Connection.open(host, port) for _ in range(8)]
    total = int(rate * duration_s)
    started = perf_counter()

    async def one(i: int, scheduled: float) -> None:
        conn = idle.pop() if idle else await Connection.open(host, port)
        status = await conn.send(make(i))
        result.record(status, perf_counter() - scheduled)
        if len(idle) < max_connections:
            idle.append(conn)
        else:
            conn.close()

    tasks: list[asyncio.Task[None]] = []
    for i in range(total):
        scheduled = started + i / rate
        delay = scheduled - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    result.elapsed_s = perf_counter() - started
    for c in idle:
        c.close()
    return result


def summary(result: Result, extra: Sequence[tuple[str, float]] = ()) -> dict[str, float]:
    ok = sum(n for status, n in result.statuses.items() if status < 400)
    figures = {
        "requests": float(len(result.latencies_s)),
        "errors": float(len(result.latencies_s) - ok),
        "throughput_rps": round(result.throughput, 1),
        "p50_ms": round(result.percentile_ms(0.50), 3),
        "p99_ms": round(result.percentile_ms(0.99), 3),
    }
    figures.update(extra)
    return figures
