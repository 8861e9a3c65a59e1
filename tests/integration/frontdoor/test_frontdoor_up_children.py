"""`covenant up` owns its children, as a user runs it (a subprocess on fixed ports):
``kill -9`` of it takes the region APIs and the front door down within seconds; the next
`covenant up` on the same ports works; one started while those ports are held stops with
one line naming the holder; a region API killed under it is reported and restarted, and
``/v1/regions`` shows it."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.waiting import wait_until

CLI = "from covenant.cli import main; main()"


def _free_block(size: int) -> int:
    """A base port with ``size`` consecutive free ports."""
    for _ in range(200):
        base = random.randrange(20_000, 40_000)
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + size):
                    s = held.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise AssertionError("no block of free ports found")


def _config(tmp_path: Path) -> Path:
    base = _free_block(20)  # 0-5 APIs, 6-11 proxies, 12 front door, 13 API, 14 Toxiproxy
    config = tmp_path / "covenant.yaml"
    config.write_text(
        f"stack: {{region_api_base: {base}, proxy_base: {base + 6}, front_door: {base + 12},"
        f" control_plane: {base + 13}, toxiproxy: {base + 14}}}\n"
        f"settings: {{data_dir: '{tmp_path}/d'}}\n")
    return config


def _up(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CLI, "up", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})


def _started(tmp_path: Path, proc: subprocess.Popen[str], since: float) -> dict[str, Any]:
    described = tmp_path / "d" / "stack.json"

    def ready() -> bool:
        return (described.exists() and described.stat().st_mtime > since) or \
            proc.poll() is not None
    with contextlib.suppress(AssertionError):
        wait_until(ready, "covenant up", 240, interval=0.2)
    if proc.poll() is not None or not described.exists():
        proc.kill()
        pytest.fail(f"covenant up did not come up:\n{proc.communicate()[0][-3000:]}")
    return dict(json.loads(described.read_text()))


def _children(stack: dict[str, Any]) -> list[psutil.Process]:
    pids = [*stack["region_pids"].values(), stack["front_door_pid"]]
    return [psutil.Process(pid) for pid in pids]


def test_up_owns_its_children(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = _up(config)
    stack = _started(tmp_path, first, 0.0)
    children = _children(stack)
    assert len(children) == 7 and all(c.is_running() for c in children)
    r = httpx.get(stack["front_door"] + "/v1/countries/ZAF", timeout=10)
    assert r.status_code == 200 and r.headers["x-covenant-served-by"] == "jnb"

    first.kill()  # SIGKILL: covenant up cleans nothing up
    first.communicate()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"children outlived covenant up: {alive}"

    since = (tmp_path / "d" / "stack.json").stat().st_mtime
    second = _up(config)
    try:
        stack = _started(tmp_path, second, since)
        r = httpx.get(stack["front_door"] + "/v1/countries/AUS", timeout=10)
        assert r.status_code == 200 and r.headers["x-covenant-served-by"] == "syd"

        third = subprocess.run([sys.executable, "-c", CLI, "up", "--config", str(config)],
                               capture_output=True, text=True, timeout=120)
        assert third.returncode == 1
        line = third.stderr.strip().splitlines()[-1]
        assert line.startswith("covenant up: ports already in use:"), third.stderr
        assert f"is held by pid {stack['region_pids']['ams']}" in line

        syd = psutil.Process(stack["region_pids"]["syd"])
        syd.send_signal(signal.SIGKILL)
        api = stack["control_plane"]

        def restarted() -> bool:
            regions = httpx.get(api + "/v1/regions", timeout=5).json()
            proc = next(r["process"] for r in regions if r["region"] == "syd")
            return bool(proc["restarts"] == 1 and proc["running"] and proc["pid"] != syd.pid)
        wait_until(restarted, "syd restarted", 30, interval=0.2)
        regions = httpx.get(api + "/v1/regions", timeout=5).json()
        assert next(r["process"] for r in regions if r["region"] == "syd")["last_exit"] == \
            "killed by SIGKILL"
        children = _children(json.loads((tmp_path / "d" / "stack.json").read_text()))
    finally:
        second.send_signal(signal.SIGINT)
        out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, out[-3000:]
    assert "region API syd (pid" in out and "exited: killed by SIGKILL" in out
    assert "region API syd restarted: pid" in out
    gone, alive = psutil.wait_procs([c for c in children if c.is_running()], timeout=10)
    assert alive == [], f"left running after Ctrl-C: {alive}"
