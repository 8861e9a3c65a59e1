"""Covenant's benchmarks: each one a ``covenant bench ...`` command (registered by
``bench.cli``), printing its figures as one JSON object on the last line with ``--json``.

They sit beside the product, not in it: ``bench`` may import every package, and none
imports ``bench``. The figures and how to read them: docs/benchmarks.md.
"""

from __future__ import annotations

import os
from pathlib import Path

# The directory that holds the ``bench`` package (and, in a checkout, the product packages).
ROOT = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a benchmark's child process (``python -m bench.xxx ...``): ours,
    with ``bench``'s directory on PYTHONPATH so the child imports the same code from any
    working directory."""
    env = dict(os.environ, **extra)
    paths = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env
