"""A real Prometheus for tests: tiny exporters whose exposition a test steps forward, and a
Prometheus (tmp storage, ephemeral port, 1 s scrapes) scraping them with the SLO rules."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from slo.rules import render_rules
from slo.spec import default_spec_path, load_group
from tests.waiting import wait_until


def exporter(body: Callable[[], str]) -> ThreadingHTTPServer:
    """An HTTP server answering every GET with 200 and ``body()`` as exposition text (so the
    control plane's probes of /live, /ready and /health pass too)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            data = body().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def prometheus(tmp_path: Path, targets: dict[str, ThreadingHTTPServer]) -> Iterator[str]:
    """A real Prometheus scraping each target every second, with the shipped SLO rules;
    yields its URL. A missing binary fails the test and names the package."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed; apt-get install prometheus "
                    "(scripts/ensure-tools.sh does)")
    (tmp_path / "slo.rules.yml").write_text(render_rules(load_group(default_spec_path()).slos))
    jobs = "\n".join(
        f"  - job_name: core-{name}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{s.server_address[1]}']" for name, s in targets.items())
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: ['{tmp_path / 'slo.rules.yml'}']\nscrape_configs:\n{jobs}\n")
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            try:
                return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_until(ready, "Prometheus to be ready", timeout=30, interval=0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        for s in targets.values():
            s.shutdown()
            s.server_close()
