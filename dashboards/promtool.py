"""PromQL checked by the real parser: ``promtool check rules`` over one recording rule per
expression. A missing promtool is an error naming the Debian package."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from dashboards.errors import DashboardError

_ERROR = re.compile(r'"lint:t(\d+)": (.*)$')


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise DashboardError("promtool is not installed: apt-get install prometheus (or run "
                             "scripts/ensure-tools.sh); `covenant dashboards lint "
                             "--skip-promql` lints without it")
    return found


def check_promql(exprs: Sequence[str]) -> Mapping[int, str]:
    """{index: parser error} of the expressions promtool cannot parse."""
    if not exprs:
        return {}
    rules = [{"record": f"lint:t{i}", "expr": e} for i, e in enumerate(exprs)]
    with tempfile.TemporaryDirectory(prefix="covenant-lint-") as tmp:
        path = Path(tmp) / "targets.rules.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "lint", "rules": rules}]}))
        done = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True,
                              text=True, timeout=60, check=False)
    if done.returncode == 0:
        return {}
    found = {int(m[1]): m[2] for m in map(_ERROR.search, done.stdout.splitlines()
                                          + done.stderr.splitlines()) if m}
    if not found:
        raise DashboardError(f"promtool check rules failed without naming a rule: "
                             f"{done.stderr.strip() or done.stdout.strip()}")
    return found
