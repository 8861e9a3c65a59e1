"""`covenant up --config` against a PostgreSQL without the database and a NATS port with
nothing behind it: one line each, naming it and the fix, exit 1, nothing started."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


def test_missing_database_and_nats_are_one_line_each(tmp_path: Path, postgres_url: str) -> None:
    missing = f"covenant_missing_{uuid.uuid4().hex[:8]}"
    nats_port = _closed_port()
    config = tmp_path / "covenant.yaml"
    config.write_text(
        "settings:\n"
        f"  data_dir: '{tmp_path / 'data'}'\n"
        f"  database_url: 'postgresql+psycopg://postgres@127.0.0.1:5432/{missing}'\n"
        f"  state_url: '{postgres_url}'\n"
        f"  nats_url: 'nats://127.0.0.1:{nats_port}'\n")
    done = subprocess.run(
        [sys.executable, "-c", "from covenant.cli import main; main()", "up",
         "--config", str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"covenant up: database {missing} does not exist at 127.0.0.1:5432: create it with "
        f"createdb -h 127.0.0.1 -p 5432 -U postgres {missing}, or change "
        "settings.database_url",
        f"covenant up: NATS is not answering at 127.0.0.1:{nats_port} ([Errno 111] "
        "Connection refused): start nats-server -js, or change settings.nats_url",
    ], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "data" / "logs").exists()  # no region process was started
