"""The generated configuration checked by the real tools: ``promtool check config`` (rule
files included) and ``amtool check-config``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from infra.errors import InfraError
from infra.tools import require


def _run(args: list[str], what: Path) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise InfraError(f"{what} does not pass {Path(args[0]).name}:\n{output}")
    return output


def check_prometheus(config: Path) -> str:
    return _run([require("promtool"), "check", "config", str(config)], config)


def check_alertmanager(config: Path) -> str:
    return _run([require("amtool"), "check-config", str(config)], config)
