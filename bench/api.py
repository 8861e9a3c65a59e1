"""``covenant bench api``: a region API on SQLite next to a bare FastAPI endpoint, and the
front door in front of the region API.

All three run in real processes on ephemeral ports for the whole run (the front door is
``python -m controlplane.frontdoor``, as ``covenant up`` starts it); scenarios take turns so
a change in the machine's background load hits them alike. Also runnable as
``python -m bench.api``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench import child_env, loadgen

REGION = "ams"
HOST = "127.0.0.1"
ROUNDS = 5
READ_COUNTRIES = ("FRA", "DEU", "NLD", "ITA", "ESP", "POL", "SWE", "NOR")


def _serve(kind: str, data_dir: str) -> None:
    """Child process: bind port 0, print it, serve until killed."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    if kind == "bare":
        app = FastAPI()
        body = b'{"iso3":"FRA","name":"France","capital":"Paris"}'

        @app.get("/bare")
        async def bare() -> Response:
            return Response(body, media_type="application/json")
    else:
        from core_api.app import create_app
        from core_api.prepare import prepare_region
        from kernel.settings import Settings

        settings = Settings(data_dir=Path(data_dir), database_url=None, nats_url=None,
                            redis_url=None)
        prepare_region(settings, REGION)
        app = create_app(settings, REGION)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, loop="uvloop",
                            http="httptools", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def _server(kind: str, data_dir: str) -> Iterator[int]:
    env = {k: v for k, v in child_env().items() if not k.startswith("OTEL_EXPORTER")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.api", "--serve", kind, "--data-dir", data_dir],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"{kind} server did not start (exit {proc.poll()})")
        yield int(line)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def _front_door(api: int, data_dir: str) -> Iterator[int]:
    """The front door process (``python -m controlplane.frontdoor``) in front of the region
    API: one region, the countries' homes from the core API's data, no control plane (every
    home serves itself)."""
    from controlplane.frontdoor_config import FrontDoorConfig
    from core_api.countries import load_countries

    homes = {code: c.home_region for c in load_countries() for code in (c.iso3, c.iso2)}
    ready = Path(data_dir) / "frontdoor.ready.json"
    config = FrontDoorConfig(endpoints={REGION: f"http://{HOST}:{api}"}, homes=homes,
                             nearest={REGION: []}, default_region=REGION, host=HOST, port=0,
                             ready_file=str(ready))
    path = Path(data_dir) / "frontdoor.json"
    path.write_text(config.to_json())
    proc = subprocess.Popen([sys.executable, "-m", "controlplane.frontdoor", "--config",
                             str(path), "--log-level", "WARNING"], env=child_env())
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"front door did not start (exit {proc.poll()})")
            time.sleep(0.05)
        yield int(json.loads(ready.read_text())["port"])
    finally:
        proc.terminate()
        proc.wait(timeout=15)


async def _wait_ready(port: int, path: str) -> None:
    for _ in range(200):
        try:
            conn = await loadgen.Connection.open(HOST, port)
            status = await conn.send(loadgen.get_request(HOST, path))
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"server on port {port} never answered {path} with 200")


def _post_body(i: int) -> bytes:
    return json.dumps({
        "name": f"Bench project {i}", "country": READ_COUNTRIES[i % len(READ_COUNTRIES)],
        "sector": "energy", "budget_usd": 1_000_000 + i, "beneficiaries": 100, "progress": 10,
    }).encode()


async def _interleaved(scenarios: dict[str, tuple[int, loadgen.RequestFactory]],
                       concurrency: int, duration: float) -> dict[str, loadgen.Result]:
    """Each scenario gets ROUNDS short turns in rotation, so a change in the machine's
    background load (other work on the same cores) hits all of them alike and the ratios
    to the bare endpoint stay fair."""
    merged = {name: loadgen.Result() for name in scenarios}
    for port, make in scenarios.values():  # warm-up
        await loadgen.closed_loop(HOST, port, make, concurrency, min(0.5, duration))
    for _ in range(ROUNDS):
        for name, (port, make) in scenarios.items():
            merged[name].extend(await loadgen.closed_loop(
                HOST, port, make, concurrency, duration / ROUNDS))
    return merged


async def _interleaved_open(scenarios: dict[str, tuple[int, loadgen.RequestFactory]],
                            rate: float, duration: float) -> dict[str, loadgen.Result]:
    """Open loop, the scenarios taking ROUNDS turns each (as ``_interleaved``)."""
    merged = {name: loadgen.Result() for name in scenarios}
    for _ in range(ROUNDS):
        for name, (port, make) in scenarios.items():
            merged[name].extend(await loadgen.open_loop(HOST, port, make, rate,
                                                        duration / ROUNDS))
    return merged


async def _measure(bare: int, api: int, door: int, concurrency: int, duration: float,
                   rate: float) -> dict[str, object]:
    await _wait_ready(bare, "/bare")
    await _wait_ready(api, "/ready")
    await _wait_ready(door, "/ready")
    country = [loadgen.get_request(HOST, f"/v1/countries/{c}") for c in READ_COUNTRIES]
    page = loadgen.get_request(HOST, "/v1/projects?limit=50")
    bare_get = loadgen.get_request(HOST, "/bare")
    # Reads first, on the seeded data set (82 ams projects); writes last, so the rows they
    # add do not change what the reads measure.
    reads = await _interleaved({
        "bare": (bare, lambda i: bare_get),
        "get_country": (api, lambda i: country[i % len(country)]),
        "list_projects": (api, lambda i: page),
        "front_door_get_country": (door, lambda i: country[i % len(country)]),
    }, concurrency, duration)
    open_results = {
        "get_country": loadgen.summary(await loadgen.open_loop(
            HOST, api, lambda i: country[i % len(country)], rate, duration)),
        "list_projects": loadgen.summary(await loadgen.open_loop(
            HOST, api, lambda i: page, rate, duration)),
    }
    # The front door beside the API directly, in turns: reads at `rate`, and POSTs routed by
    # their body at half of it (added latency, not throughput).
    door_open = await _interleaved_open({
        "direct_get_country": (api, lambda i: country[i % len(country)]),
        "get_country": (door, lambda i: country[i % len(country)]),
    }, rate, duration)
    door_open |= await _interleaved_open({
        "direct_create_project": (api, lambda i: _post(i)),
        "create_project": (door, lambda i: _post(i)),
    }, rate / 2, duration)
    writes = await _interleaved({
        "bare": (bare, lambda i: bare_get),
        "create_project": (api, lambda i: _post(i)),
        "front_door_create_project": (door, lambda i: _post(i)),
    }, concurrency, duration)
    drain_s = await _drain_outbox(api)
    results = {name: loadgen.summary(r) for name, r in reads.items()
               if not name.startswith("front_door")}
    results["create_project"] = loadgen.summary(writes["create_project"])
    for name in ("get_country", "list_projects"):
        results[name]["ratio_to_bare"] = round(
            results[name]["throughput_rps"] / results["bare"]["throughput_rps"], 3)
    results["create_project"]["ratio_to_bare"] = round(
        writes["create_project"].throughput / writes["bare"].throughput, 3)
    return {"closed_loop": results, "open_loop": open_results,
            "outbox_drain_after_writes_s": round(drain_s, 3),
            "front_door": _door_figures(reads, writes, door_open, rate)}


def _post(i: int) -> bytes:
    return loadgen.post_request(HOST, "/v1/projects", _post_body(i))


def _door_figures(reads: dict[str, loadgen.Result], writes: dict[str, loadgen.Result],
                  opened: dict[str, loadgen.Result], rate: float) -> dict[str, object]:
    """The front door against the API directly, measured in the same turns."""
    closed = {"get_country": loadgen.summary(reads["front_door_get_country"]),
              "create_project": loadgen.summary(writes["front_door_create_project"])}
    closed["get_country"]["ratio_to_direct"] = round(
        reads["front_door_get_country"].throughput / reads["get_country"].throughput, 3)
    closed["create_project"]["ratio_to_direct"] = round(
        writes["front_door_create_project"].throughput / writes["create_project"].throughput,
        3)
    open_loop = {name: loadgen.summary(r) for name, r in opened.items()}
    return {
        "closed_loop": closed, "open_loop": open_loop, "read_rate_rps": rate,
        "write_rate_rps": rate / 2,
        "added_p99_ms_get_country": round(open_loop["get_country"]["p99_ms"]
                                          - open_loop["direct_get_country"]["p99_ms"], 3),
        "added_p50_ms_get_country": round(open_loop["get_country"]["p50_ms"]
                                          - open_loop["direct_get_country"]["p50_ms"], 3),
        "added_p50_ms_create_project": round(open_loop["create_project"]["p50_ms"]
                                             - open_loop["direct_create_project"]["p50_ms"], 3),
    }


async def _drain_outbox(port: int, timeout_s: float = 60.0) -> float:
    """Seconds until the relay has published every event the writes left pending."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        conn = await loadgen.Connection.open(HOST, port)
        body = await conn.fetch(loadgen.get_request(HOST, "/metrics"))
        conn.close()
        found = re.search(rb'^outbox_pending_events\{[^}]*\} ([0-9.e+]+)$', body, re.M)
        if found and float(found.group(1)) == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"outbox still not drained after {timeout_s} s")


def _outbox(db_file: Path) -> dict[str, int]:
    with sqlite3.connect(db_file) as conn:
        rows, published = conn.execute(
            "SELECT count(*), count(published_at) FROM outbox_events").fetchone()
        projects = conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    return {"outbox_rows": rows, "outbox_published": published, "projects": projects}


def run(concurrency: int, duration: float, rate: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="covenant-bench-") as data_dir, \
            _server("bare", data_dir) as bare, _server("region", data_dir) as api, \
            _front_door(api, data_dir) as door:
        figures = asyncio.run(_measure(bare, api, door, concurrency, duration, rate))
        outbox = _outbox(Path(data_dir) / f"core_{REGION}.sqlite3")
    closed = figures["closed_loop"]
    opened = figures["open_loop"]
    assert isinstance(closed, dict) and isinstance(opened, dict)
    read_p99 = max(opened["get_country"]["p99_ms"], opened["list_projects"]["p99_ms"])
    read_ratio = min(closed["get_country"]["ratio_to_bare"],
                     closed["list_projects"]["ratio_to_bare"])
    writes = closed["create_project"]["throughput_rps"]
    front = figures["front_door"]
    assert isinstance(front, dict)
    door_ratio = front["closed_loop"]["get_country"]["ratio_to_direct"]
    added_p99, added_write_p50 = front["added_p99_ms_get_country"], \
        front["added_p50_ms_create_project"]
    return {
        "benchmark": "core_api", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "concurrency": concurrency, "duration_s": duration, "open_loop_rate_rps": rate,
        **figures, "outbox": outbox,
        "targets": {
            "read_p99_ms_at_rate": read_p99, "read_p99_under_10ms": read_p99 < 10.0,
            "read_throughput_ratio": read_ratio, "read_ratio_at_least_0.5": read_ratio >= 0.5,
            "writes_per_s": writes, "writes_at_least_500": writes >= 500,
            "front_door_ratio": door_ratio, "front_door_ratio_at_least_0.7": door_ratio >= 0.7,
            "front_door_added_p99_ms": added_p99,
            "front_door_added_p99_at_most_2ms": added_p99 <= 2.0,
            "front_door_write_added_p50_ms": added_write_p50,
            "front_door_write_added_p50_at_most_1ms": added_write_p50 <= 1.0,
        },
    }


def _print_table(result: dict[str, object]) -> None:
    closed = result["closed_loop"]
    assert isinstance(closed, dict)
    print(f"{'scenario':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>8}{'errors':>8}")
    for name, f in closed.items():
        print(f"{name:<16}{f['throughput_rps']:>10.0f}{f['p50_ms']:>10.2f}{f['p99_ms']:>10.2f}"
              f"{f.get('ratio_to_bare', 1.0):>8.2f}{f['errors']:>8.0f}")
    opened = result["open_loop"]
    assert isinstance(opened, dict)
    for name, f in opened.items():
        print(f"open loop {result['open_loop_rate_rps']} req/s {name}: p50 {f['p50_ms']:.2f} ms, "
              f"p99 {f['p99_ms']:.2f} ms")
    door = result["front_door"]
    assert isinstance(door, dict)
    for name, f in door["closed_loop"].items():
        print(f"front door {name:<16}{f['throughput_rps']:>10.0f}{f['p50_ms']:>10.2f}"
              f"{f['p99_ms']:>10.2f}{f['ratio_to_direct']:>8.2f} of direct{f['errors']:>8.0f}")
    for name, f in door["open_loop"].items():
        print(f"front door open loop {name}: p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms")
    print(f"outbox: {result['outbox']}")
    print(f"targets: {result['targets']}")


def run_cli(as_json: bool, concurrency: int, duration: float, rate: float) -> None:
    result = run(concurrency, duration, rate)
    if as_json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        _print_table(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", choices=("bare", "region"))
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve, args.data_dir)
    else:
        run_cli(args.json, args.concurrency, args.duration, args.rate)


if __name__ == "__main__":
    main()
