"""kill -9 in the middle of a run: a real process running the executor on the SQL journal
is killed with SIGKILL while a step waits on a slow HTTP check; a new process resumes the
run at the first unfinished step (the check, read again) and never repeats a finished one:
the local HTTP receiver counts each action exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("executor_child.py")


class Receiver:
    """Counts ``POST /act/<step>``; ``GET /slow`` hangs until ``release`` is set."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                receiver.calls[self.path] += 1
                self._answer()

            def do_GET(self) -> None:  # noqa: N802
                receiver.calls[self.path] += 1
                receiver.release.wait(60)
                self._answer()

            def _answer(self) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed while it waited

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.release.set()
    found.server.shutdown()
    found.server.server_close()


def child(url: str, receiver: Receiver, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(CHILD), url, receiver.url, mode], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def steps(url: str) -> dict[str, tuple[str, int]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT step_id, status, attempt FROM rb_steps "
                                        "WHERE run_id = 1 ORDER BY idx"))
            return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        engine.dispose()


def test_a_run_killed_mid_step_resumes_at_that_step_and_repeats_nothing_done(
        tmp_path: Path, receiver: Receiver) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = child(url, receiver, "start")
    try:
        wait_until(lambda: receiver.calls["/slow"] == 1 or first.poll() is not None,
                   "the run to reach its slow check", 60, interval=0.05)
        assert first.poll() is None, first.communicate()[0]
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert receiver.calls == {"/act/first": 1, "/act/second": 1, "/slow": 1}
    assert steps(url) == {"first": ("succeeded", 1), "second": ("succeeded", 1),
                          "slow": ("running", 1), "third": ("pending", 0)}

    receiver.release.set()  # the check answers now
    second = child(url, receiver, "resume")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert "run #1 succeeded" in out
    assert receiver.calls == {"/act/first": 1, "/act/second": 1, "/slow": 2,
                              "/act/third": 1}
    assert steps(url) == {"first": ("succeeded", 1), "second": ("succeeded", 1),
                          "slow": ("succeeded", 2), "third": ("succeeded", 1)}
