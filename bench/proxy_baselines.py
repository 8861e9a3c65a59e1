"""How close can any relay get to direct throughput on this machine? Side by side, one run.

`covenant bench proxy` compares direct with the Covenant proxy. This puts two baseline relays
with no toxic machinery beside them, on the same echo upstream and the same client
coroutine: a C relay with a thread per direction (bench/relay_threads.c, compiled here with
gcc) and a Python relay with a thread per direction (blocking ``recv_into``/``sendall``,
which release the GIL). If the baselines land where the Covenant proxy does, the gap to
direct is the cost of a relay hop on this machine, not of the proxy's code.

    python bench/proxy_baselines.py [--rounds 30] [--json]    # or: python -m bench.proxy_baselines

Each round opens one connection per mode, in a rotated order, and pushes five 1 MB echo
transfers through it (``chaos.loopback.transfer``, as `covenant bench proxy` does); the rate
of a mode is the median of its per-round rates; the first transfer on a connection (which
carries the relay's upstream dial) is reported apart from the steady ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

# Run as a file, sys.path[0] is bench/, whose slo.py and anomaly.py would shadow those
# packages: put the repository root there instead.
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.proxy import (  # noqa: E402
    MB,
    _Child,
    create_proxy_port,
    one_megabyte,
    timed_transfers,
)

HERE = Path(__file__).resolve().parent
TRANSFERS = 5


# The Python baseline relays, run as children (``proxy_baselines.py relay-threads PORT``)
CHUNK = 256 * 1024


def _copy(src: socket.socket, dst: socket.socket) -> None:
    """recv_into one buffer, sendall from it: one user-space copy each way."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while count := src.recv_into(buffer):
        dst.sendall(view[:count])


def _splice(src: socket.socket, dst: socket.socket) -> None:
    """socket -> pipe -> socket with splice(2): the bytes never enter user space."""
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, CHUNK)
        while moved := os.splice(src.fileno(), write_end, CHUNK, flags=os.SPLICE_F_MOVE):
            while moved:
                moved -= os.splice(read_end, dst.fileno(), moved, flags=os.SPLICE_F_MOVE)
    finally:
        os.close(read_end)
        os.close(write_end)


def _pump(
    move: Callable[[socket.socket, socket.socket], None], src: socket.socket, dst: socket.socket
) -> None:
    with contextlib.suppress(OSError):  # the peer went away: close our side as for EOF
        move(src, dst)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def _serve_thread_relay(
    upstream_port: int, move: Callable[[socket.socket, socket.socket], None]
) -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    print(listener.getsockname()[1], flush=True)

    def accept_forever() -> None:
        while True:
            client, _ = listener.accept()
            server = socket.create_connection(("127.0.0.1", upstream_port))
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for pair in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(move, *pair), daemon=True).start()

    threading.Thread(target=accept_forever, daemon=True).start()
    sys.stdin.read()  # the parent closes stdin to stop us


# Children --------------------------------------------------------------------------------
def _compile_c_relay(workdir: Path) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise SystemExit("proxy_baselines: no C compiler found; install gcc for the C relay")
    binary = workdir / "relay_threads"
    source = HERE / "relay_threads.c"
    subprocess.run([compiler, "-O2", "-pthread", "-o", str(binary), str(source)], check=True)
    return binary


# Measurement -----------------------------------------------------------------------------
async def _measure(ports: dict[str, int], rounds: int) -> dict[str, list[list[float]]]:
    payload = one_megabyte()
    names = list(ports)
    seconds: dict[str, list[list[float]]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(await timed_transfers(ports[name], payload, TRANSFERS))
    return seconds


def _summary(seconds: dict[str, list[list[float]]]) -> dict[str, dict[str, float]]:
    rates = {
        name: statistics.median(TRANSFERS * MB / sum(r) for r in rows)
        for name, rows in seconds.items()
    }
    return {
        name: {
            "mb_s": round(rates[name] / MB, 1),
            "ratio": round(rates[name] / rates["direct"], 3),
            "first_ms": round(statistics.median(r[0] for r in rows) * 1000, 3),
            "steady_ms": round(statistics.median(t for r in rows for t in r[1:]) * 1000, 3),
        }
        for name, rows in seconds.items()
    }


def run(rounds: int) -> dict[str, dict[str, float]]:
    echo, proxy = _Child("echo"), _Child("proxy")
    echo_port = echo.start()
    relays: list[_Child] = []
    try:
        api_port = proxy.start()
        with tempfile.TemporaryDirectory() as workdir:
            c_relay = _Child("c relay", [str(_compile_c_relay(Path(workdir))), str(echo_port)])
            relays.append(c_relay)
            c_port = c_relay.start()
            py_relay = _Child(
                "python relay", [sys.executable, __file__, "relay-threads", str(echo_port)]
            )
            relays.append(py_relay)
            py_port = py_relay.start()
            splice_relay = _Child(
                "splice relay", [sys.executable, __file__, "relay-splice", str(echo_port)]
            )
            relays.append(splice_relay)
            splice_port = splice_relay.start()
            ports = {
                "direct": echo_port,
                "covenant_proxy": asyncio.run(create_proxy_port(api_port, echo_port, "baseline")),
                "c_threads_relay": c_port,
                "python_threads_relay": py_port,
                "python_splice_relay": splice_port,
            }
            return _summary(asyncio.run(_measure(ports, rounds)))
    finally:
        for relay in relays:
            relay.stop()
        proxy.stop()
        echo.stop()


def main() -> None:
    relays = {"relay-threads": _copy, "relay-splice": _splice}
    if sys.argv[1:2] and sys.argv[1] in relays:
        _serve_thread_relay(int(sys.argv[2]), relays[sys.argv[1]])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="connections per mode")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    summary = run(args.rounds)
    for name, figures in summary.items():
        print(
            f"{name:>22}: {figures['mb_s']:7.1f} MB/s  ratio {figures['ratio']:.3f}  "
            f"first {figures['first_ms']:.2f} ms  steady {figures['steady_ms']:.2f} ms"
        )
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
