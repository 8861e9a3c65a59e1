"""``covenant up`` owns its children: the back-off and exit wording (pure, tables), the
busy-port line, a real child restarted after ``kill -9``, and a real lifeline: children of
a parent killed with SIGKILL exit too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from covenant.children import ChildSpec, Supervisor, backoff_s, exit_text
from covenant.ports import Busy, Claim, Holder, busy, explain
from tests.waiting import eventually, wait_until


@pytest.mark.parametrize(("restarts", "ran_for", "delay"), [
    (0, 0.1, 0.5), (1, 0.1, 1.0), (2, 5.0, 2.0), (5, 1.0, 16.0), (6, 1.0, 30.0),
    (60, 1.0, 30.0),  # capped
    (9, 61.0, 0.5),   # ran a minute: an odd crash, not a crash loop
])
def test_backoff(restarts: int, ran_for: float, delay: float) -> None:
    assert backoff_s(restarts, ran_for) == delay


@pytest.mark.parametrize(("code", "text"), [
    (0, "exit 0"), (1, "exit 1"), (-9, "killed by SIGKILL"), (-15, "killed by SIGTERM"),
    (-99, "killed by signal 99"),
])
def test_exit_text(code: int, text: str) -> None:
    assert exit_text(code) == text


@pytest.mark.parametrize(("found", "line"), [
    ([], ""),
    ([Busy(Claim(8101, "region API ams"), Holder(42, "python -m core_api api"))],
     "port already in use: 8101 (region API ams) is held by pid 42 (python -m core_api api)."
     " Perhaps a covenant up that was killed left it running: stop it (kill 42), or choose "
     "other ports in covenant.yaml (stack:)"),
    ([Busy(Claim(8101, "region API ams"), Holder(42, "a")),
      Busy(Claim(8080, "front door"), None)],
     "ports already in use: 8101 (region API ams) is held by pid 42 (a); 8080 (front door) is "
     "held by a process not visible to this user. Perhaps a covenant up that was killed left "
     "it running: stop it (kill 42), or choose other ports in covenant.yaml (stack:)"),
])
def test_explain_busy_ports_in_one_line(found: list[Busy], line: str) -> None:
    assert explain(found) == line
    assert "\n" not in line


def test_busy_names_the_process_listening() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        found = busy("127.0.0.1", [Claim(port, "region API syd"), Claim(0, "any")])
    assert [(b.claim.port, b.holder.pid if b.holder else None) for b in found] == \
        [(port, os.getpid())]
    assert busy("127.0.0.1", [Claim(port, "free again")]) == []


async def test_a_child_that_exits_is_reported_and_restarted(tmp_path: Path) -> None:
    events: list[str] = []
    supervisor = Supervisor(events.append)
    spec = ChildSpec("syd", "region API syd",
                     (sys.executable, "-c", "import time; time.sleep(600)"), dict(os.environ),
                     tmp_path / "syd.log")
    child = await supervisor.start(spec)
    first = child.process.pid
    try:
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: child.restarts == 1 and child.running, "restarted", 10)
        assert child.process.pid != first and child.last_exit == "killed by SIGKILL"
        assert events[0].startswith(f"region API syd (pid {first}) exited: killed by SIGKILL")
        assert events[1] == f"region API syd restarted: pid {child.process.pid}"
    finally:
        await supervisor.stop()
    assert not psutil.pid_exists(child.process.pid) or \
        psutil.Process(child.process.pid).status() == psutil.STATUS_ZOMBIE


PARENT = textwrap.dedent("""
    import asyncio, json, sys
    from covenant.children import ChildSpec, Supervisor

    async def main():
        supervisor = Supervisor()
        pids = []
        for name in ("a", "b"):
            spec = ChildSpec(name, name, (sys.executable, "-c", "import time; time.sleep(600)"),
                             {}, __import__("pathlib").Path(sys.argv[1]) / f"{name}.log")
            pids.append((await supervisor.start(spec)).process.pid)
        print(json.dumps(pids), flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
""")


def test_children_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        children = [psutil.Process(pid) for pid in pids]
        wait_until(lambda: all(c.cmdline()[-1].endswith("sleep(600)") for c in children),
                   "children exec'd past their lifeline", 10)
        parent.kill()  # SIGKILL: no chance to clean up
        parent.wait()
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert alive == [], f"children outlived their parent: {alive}"
    finally:
        if parent.poll() is None:
            parent.kill()
        if parent.stdout is not None:
            parent.stdout.close()
