"""`covenant api` serves a region with real uvicorn and logs JSON lines with the trace id."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx

TRACE_ID = "5b8efff798038103d269b633813fc60c"


def _pump(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


def test_covenant_api_serves_and_logs_json_with_trace_ids(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVENANT_", "OTEL_"))}
    env["COVENANT_DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from covenant.cli import main; main()", "api",
         "--region", "ams", "--port", "0", "--log-level", "DEBUG"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        port = None
        while port is None:
            line = lines.get(timeout=30)  # a deadline: fails the test if the server never starts
            seen.append(line)
            found = re.search(r"running on http://127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/ready", timeout=10).status_code == 200
        body = {"name": "Dyke", "country": "NLD", "sector": "water", "budget_usd": 3}
        r = httpx.post(f"{base}/v1/projects", json=body, timeout=10,
                       headers={"traceparent": f"00-{TRACE_ID}-a0892f3577b34da6-01"})
        assert r.status_code == 201 and TRACE_ID in r.headers["traceparent"]
        while not any(TRACE_ID in s for s in seen):
            seen.append(lines.get(timeout=10))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stderr is not None:
            proc.stderr.close()
    records = [json.loads(s) for s in seen if s.startswith("{")]
    assert records and all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    created = [r for r in records if r.get("trace_id") == TRACE_ID]
    assert created and "project" in created[0]["msg"] and created[0]["region"] == "ams"
