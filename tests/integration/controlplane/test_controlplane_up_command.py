"""`covenant up` as a user runs it: a table of what runs where, verdicts as they happen,
`covenant status` against it, and a clean stop on Ctrl-C (SIGINT) with every child gone."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.waiting import wait_until

CLI = "from covenant.cli import main; main()"


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float) -> None:
    with contextlib.suppress(AssertionError):  # on a timeout, fail below with its output
        wait_until(lambda: path.exists() or proc.poll() is not None, "covenant up", timeout,
                   interval=0.1)
    if not path.exists():
        proc.kill()
        out = proc.communicate()[0]
        pytest.fail(f"covenant up did not come up:\n{out[-3000:]}")


def test_up_prints_table_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    config = tmp_path / "covenant.yaml"
    config.write_text("stack: {control_plane: 0, front_door: 0, region_api_base: 0, "
                      f"proxy_base: 0, toxiproxy: 0}}\nsettings: {{data_dir: '{tmp_path}/d'}}\n")
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-c", CLI, "up", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        _wait_for(tmp_path / "d" / "stack.json", proc, timeout=180)
        stack = json.loads((tmp_path / "d" / "stack.json").read_text())
        children = [psutil.Process(pid) for pid in stack["region_pids"].values()]
        assert len(children) == 6 and all(c.is_running() for c in children)
        r = httpx.get(stack["front_door"] + "/v1/countries/ZAF", timeout=10)
        assert r.status_code == 200 and r.headers["x-covenant-served-by"] == "jnb"
        # Not a terminal: the table once, then exit, with no per-request log lines.
        # The incidents need a key: the one `covenant up` made (mode 0600).
        assert Path(stack["admin_key_file"]).stat().st_mode & 0o777 == 0o600
        status = subprocess.run([sys.executable, "-c", CLI, "status", "--url",
                                 stack["control_plane"], "--key-file",
                                 stack["admin_key_file"]], capture_output=True, text=True,
                                env=env, timeout=60)
        assert status.returncode == 0, status.stderr
        assert all(region in status.stdout for region in ("ams", "iad", "syd", "jnb"))
        assert "healthy" in status.stdout
        assert "HTTP Request" not in status.stdout + status.stderr
        # SLOs are enforced out of the box: budgets are recorded from the first passes on,
        # and a young system is "insufficient data", not a freeze.
        slo_env = {**env, "COVENANT_DATA_DIR": str(tmp_path / "d")}

        def budgets_shown() -> bool:
            shown = subprocess.run([sys.executable, "-c", CLI, "slo", "status"],
                                   capture_output=True, text=True, env=slo_env, timeout=60)
            return shown.returncode == 0 and "core-api-availability-syd" in shown.stdout
        wait_until(budgets_shown, "covenant slo status to show budgets", 60, interval=1)
        shown = subprocess.run([sys.executable, "-c", CLI, "slo", "status"],
                               capture_output=True, text=True, env=slo_env, timeout=60)
        assert "insufficient data" in shown.stdout and "freeze_" not in shown.stdout, \
            shown.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]
    for needle in ("what runs where", "region API syd", "proxy syd_api", "front door",
                   "control plane API", "set_routes: leadership epoch", "stopped cleanly."):
        assert needle in out, f"{needle!r} not in the output of covenant up"
    alive = psutil.wait_procs(children, timeout=10)[1]
    assert alive == [], f"region processes left running: {alive}"
