"""Leader election with real processes: kill -9 the leader, a standby takes over in time."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controlplane.leader import FileLease, PostgresLease, build_lease

PERIOD_S = 1.0


def _spawn(target: str, holder: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "controlplane.leader", target, holder,
                             str(PERIOD_S)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])


def _wait_line(procs: list[subprocess.Popen[str]], prefix: str, timeout: float
               ) -> tuple[subprocess.Popen[str], str]:
    sel = selectors.DefaultSelector()
    for p in procs:
        assert p.stdout is not None
        sel.register(p.stdout, selectors.EVENT_READ, p)
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line.startswith(prefix):
                    return key.data, line.strip()
        pytest.fail(f"no {prefix!r} line within {timeout} s")
    finally:
        sel.close()


def _handover(target: str) -> None:
    procs = [_spawn(target, "a"), _spawn(target, "b")]
    try:
        leader, line = _wait_line(procs, "LEADER", timeout=20)
        epoch = int(line.split()[-1])
        standby = procs[1] if leader is procs[0] else procs[0]
        killed_at = time.monotonic()
        os.kill(leader.pid, signal.SIGKILL)
        new, new_line = _wait_line([standby], "LEADER", timeout=2 * PERIOD_S)
        took = time.monotonic() - killed_at
        assert new is standby and took <= 2 * PERIOD_S
        assert int(new_line.split()[-1]) == epoch + 1
    finally:
        for p in procs:
            p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()


def test_file_lease_handover_within_two_periods(tmp_path: Path) -> None:
    _handover(str(tmp_path / "leader.lock"))


def test_postgres_lease_handover_within_two_periods(postgres_url: str) -> None:
    _handover(postgres_url)


def test_only_one_holder_and_release(tmp_path: Path, postgres_url: str) -> None:
    for make in (lambda h: FileLease(tmp_path / "l.lock", h),
                 lambda h: PostgresLease(postgres_url, h)):
        a, b = make("a"), make("b")
        assert a.try_acquire() and a.try_acquire() and not b.try_acquire()
        a.release()
        assert b.try_acquire() and b.epoch == a.epoch + 1
        b.release()


def test_build_lease_picks_by_url(tmp_path: Path) -> None:
    assert isinstance(build_lease(None, tmp_path, "x"), FileLease)
    assert isinstance(build_lease("sqlite:///x.db", tmp_path, "x"), FileLease)
    pg = build_lease("postgresql+psycopg://postgres@127.0.0.1/test", tmp_path, "x")
    assert isinstance(pg, PostgresLease)
    pg.release()
