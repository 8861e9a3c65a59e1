"""`covenant bench proxy`: direct vs through the proxy (no toxics), side by side in one run.

The echo upstream and the proxy server each run in their own process, as they would in use;
the measuring client runs here. Rounds alternate direct and proxied so that noise from other
work on the machine hits both alike.
"""

from __future__ import annotations

import asyncio
import math
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from bench import child_env
from chaos.client import ToxiproxyClient
from chaos.loopback import round_trip, server_port, start_echo_server, transfer

MB = 1_000_000


@dataclass(frozen=True)
class ProxyBenchResult:
    transfer_bytes: int
    transfers_per_mode: int
    direct_mb_s: float
    proxied_mb_s: float
    throughput_ratio: float
    round_trips_per_mode: int
    direct_p50_ms: float
    proxied_p50_ms: float
    direct_p99_ms: float
    proxied_p99_ms: float
    added_p99_ms: float
    concurrent_connections: int
    concurrent_errors: int
    concurrent_seconds: float
    nofile_soft_limit: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def targets(self) -> dict[str, bool]:
        """Issue 3's targets: >= 80 % of direct throughput, < 1 ms added p99, no errors
        over the concurrent connections."""
        return {"throughput": self.throughput_ratio >= 0.8, "latency": self.added_p99_ms < 1.0,
                "connections": self.concurrent_errors == 0}


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def raise_nofile_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if target != soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# Child processes -------------------------------------------------------------------------
async def _serve_until_stdin_closes(kind: str) -> None:
    """Run an echo server or a proxy server, print its port, stop when stdin closes."""
    raise_nofile_limit(8192)
    loop = asyncio.get_running_loop()
    if kind == "echo":
        echo = await start_echo_server()
        port = server_port(echo)
    else:
        from chaos.server import ToxiproxyServer

        server = ToxiproxyServer(port=0)
        await server.start()
        port = server.port
    print(port, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)


class _Child:
    """``python -m bench.proxy echo|proxy`` (or ``argv``) as a subprocess; its first line
    is its port; closing its stdin stops it."""

    def __init__(self, kind: str, argv: list[str] | None = None) -> None:
        self._kind = kind
        self._argv = argv or [sys.executable, "-m", "bench.proxy", kind]
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> int:
        self._process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"benchmark {self._kind} process failed to start: {line!r}")
        return int(line)

    def stop(self) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            self._process.wait(10)
        if self._process.stdout is not None:
            self._process.stdout.close()


# Measurements ----------------------------------------------------------------------------
def one_megabyte() -> bytes:
    """The transfer payload: exactly MB bytes of a repeating 0..255 pattern."""
    return bytes(range(256)) * (MB // 256) + bytes(MB % 256)


async def timed_transfers(port: int, payload: bytes, count: int) -> list[float]:
    """Seconds of each of ``count`` echo transfers of ``payload`` on one new connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return [await transfer(reader, writer, payload) for _ in range(count)]
    finally:
        writer.close()


async def create_proxy_port(api_port: int, upstream_port: int, name: str = "bench") -> int:
    """Create a proxy to ``upstream_port`` through the HTTP API; its listen port."""
    async with ToxiproxyClient(f"http://127.0.0.1:{api_port}") as client:
        proxy = await client.create_proxy(name, f"127.0.0.1:{upstream_port}")
    return proxy.listen_port


async def _throughput(port: int, payload: bytes, count: int) -> float:
    return len(payload) * count / sum(await timed_transfers(port, payload, count))


async def _latencies(port: int, count: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(50):  # warm-up
            await round_trip(reader, writer, b"w" * 64)
        return [await round_trip(reader, writer, b"r" * 64) for _ in range(count)]
    finally:
        writer.close()


async def _concurrent(port: int, count: int) -> tuple[int, float]:
    """Open ``count`` connections at once, hold them all, round-trip on each twice."""
    started = time.perf_counter()
    results = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(count)),
        return_exceptions=True,
    )
    conns = [r for r in results if isinstance(r, tuple)]
    errors = count - len(conns)
    for _ in range(2):
        outcomes = await asyncio.gather(
            *(round_trip(r, w, b"c" * 32) for r, w in conns), return_exceptions=True
        )
        errors += sum(isinstance(o, BaseException) for o in outcomes)
    for _, writer in conns:
        writer.close()
    return errors, time.perf_counter() - started


async def _measure(
    direct: int, proxied: int, rounds: int, transfers: int, trips: int, concurrent: int
) -> ProxyBenchResult:
    payload = one_megabyte()
    rates: dict[int, list[float]] = {direct: [], proxied: []}
    times: dict[int, list[float]] = {direct: [], proxied: []}
    for index in range(rounds):
        # Short alternating rounds, each mode first every other round, so bursts of other
        # work on the machine land on both modes alike; medians drop the outlier rounds.
        order = (direct, proxied) if index % 2 == 0 else (proxied, direct)
        for port in order:
            rates[port].append(await _throughput(port, payload, transfers))
            times[port].extend(await _latencies(port, trips))
    errors, seconds = await _concurrent(proxied, concurrent)
    d_rate, p_rate = (statistics.median(rates[p]) / MB for p in (direct, proxied))
    d99, p99 = (percentile(times[p], 99) * 1000 for p in (direct, proxied))
    return ProxyBenchResult(
        transfer_bytes=len(payload),
        transfers_per_mode=rounds * transfers,
        direct_mb_s=round(d_rate, 1),
        proxied_mb_s=round(p_rate, 1),
        throughput_ratio=round(p_rate / d_rate, 3),
        round_trips_per_mode=rounds * trips,
        direct_p50_ms=round(percentile(times[direct], 50) * 1000, 3),
        proxied_p50_ms=round(percentile(times[proxied], 50) * 1000, 3),
        direct_p99_ms=round(d99, 3),
        proxied_p99_ms=round(p99, 3),
        added_p99_ms=round(p99 - d99, 3),
        concurrent_connections=concurrent,
        concurrent_errors=errors,
        concurrent_seconds=round(seconds, 2),
        nofile_soft_limit=resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    )


def run_proxy_bench(
    rounds: int = 20, transfers: int = 5, trips: int = 500, concurrent: int = 1000
) -> ProxyBenchResult:
    raise_nofile_limit(concurrent * 2 + 256)
    echo, proxy = _Child("echo"), _Child("proxy")
    echo_port = echo.start()
    try:
        api_port = proxy.start()
        try:
            measure = _with_proxy(api_port, echo_port, rounds, transfers, trips, concurrent)
            return asyncio.run(measure)
        finally:
            proxy.stop()
    finally:
        echo.stop()


async def _with_proxy(
    api_port: int, echo_port: int, rounds: int, transfers: int, trips: int, concurrent: int
) -> ProxyBenchResult:
    proxied = await create_proxy_port(api_port, echo_port)
    return await _measure(echo_port, proxied, rounds, transfers, trips, concurrent)


if __name__ == "__main__":
    from chaos.runner import run

    run(_serve_until_stdin_closes(sys.argv[1]), use_uvloop=sys.argv[1] == "proxy")
