"""Golden files for generators: compare a generated tree byte for byte with a committed one;
``UPDATE_GOLDEN=1`` rewrites the committed tree and fails, so an update never passes
silently."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

UPDATE_ENV = "UPDATE_GOLDEN"
UPDATED = "golden files updated; review the diff and commit"


def updating() -> bool:
    return bool(os.environ.get(UPDATE_ENV))


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (dot files too) by its POSIX path relative to it."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def problems(expected: Mapping[str, bytes], actual: Mapping[str, bytes]) -> list[str]:
    found = [f"{n}: golden file no longer generated" for n in sorted(set(expected) - set(actual))]
    found += [f"{n}: generated but has no golden file" for n in sorted(set(actual) - set(expected))]
    for name in sorted(set(expected) & set(actual)):
        if expected[name] != actual[name]:
            diff = "".join(difflib.unified_diff(
                expected[name].decode().splitlines(keepends=True),
                actual[name].decode().splitlines(keepends=True),
                f"golden/{name}", f"generated/{name}", n=2))
            found.append(diff or f"{name}: differs in bytes only")
    return found


def check(root: Path, actual: Mapping[str, bytes], regenerate: str, update: bool) -> None:
    """Fail unless ``root`` holds exactly ``actual``; with ``update``, rewrite it and fail."""
    if update:
        for name in set(read_tree(root) if root.exists() else {}) - set(actual):
            (root / name).unlink()
        for name, data in actual.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        pytest.fail(f"{UPDATED} ({root})", pytrace=False)
    found = problems(read_tree(root) if root.exists() else {}, actual)
    if found:
        pytest.fail(f"generated files differ from the golden files under {root}:\n\n"
                    + "\n".join(found)[:20000] + f"\n\nIf the change is intended, regenerate "
                    f"with `{UPDATE_ENV}=1 {regenerate}`, review the diff and commit.",
                    pytrace=False)
