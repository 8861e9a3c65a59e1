"""Private services for the runbook tests, each on its own ephemeral port and stoppable:
a redis-server, a nats-server -js, a Prometheus scraping the stack with the SLO rules, and
a PagerDuty stand-in recording what it is sent. Never the shared 6379/4222. A missing binary
fails the test and names its Debian package."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from slo.rules import render_rules
from slo.spec import default_spec_path, load_group
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def binary(name: str, package: str, *paths: str) -> str:
    found = shutil.which(name) or next((p for p in paths if Path(p).exists()), None)
    if found is None:
        pytest.fail(f"{name} is not installed; apt-get install {package} "
                    "(scripts/ensure-tools.sh does)")
    return found


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Private:
    """A server process this test starts, stops and starts again on the same port."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name, self.port, self.workdir = name, free_port(), workdir
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log)
        log.close()
        wait_until(lambda: _accepts(self.port), f"{self.name} on port {self.port}", 30,
                   interval=0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None
        wait_until(lambda: not _accepts(self.port), f"{self.name} to stop", 10, interval=0.05)


class PrivateRedis(Private):
    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [binary("redis-server", "redis-server"), "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


class PrivateNats(Private):
    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [binary("nats-server", "nats-server", "/usr/sbin/nats-server"), "-js",
                "-sd", str(self.workdir / "js"), "-a", "127.0.0.1", "-p", str(self.port)]


class PrivatePrometheus(Private):
    """Scrapes ``targets`` (job -> host:port) every second with the shipped SLO rules."""

    targets: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        rules = self.workdir / "slo.rules.yml"
        rules.write_text(render_rules(load_group(default_spec_path()).slos))
        jobs = "\n".join(f"  - job_name: {job}\n    static_configs:\n"
                         f"      - targets: ['{target}']" for job, target in self.targets.items())
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          f"rule_files: ['{rules}']\nscrape_configs:\n{jobs}\n")
        return [binary("prometheus", "prometheus"), f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}"]

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


class PagerDuty:
    """Answers every POST 202 like the Events API v2 and keeps the bodies."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                events.append(json.loads(body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/enqueue"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
