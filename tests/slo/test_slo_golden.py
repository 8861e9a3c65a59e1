"""`slo generate` on the shipped spec, byte for byte against committed golden files.

Any change to the rules, the promtool tests or the Alertmanager fragment shows up here as a
diff to review. After an intended change, regenerate with ``UPDATE_GOLDEN=1`` (command in
:data:`REGENERATE`): the test then rewrites the golden files and fails, so an update is
never a silent pass.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

import slo.rules
from slo.generate import generate
from slo.spec import default_spec_path, load_group

GOLDEN = Path(__file__).parent / "golden" / "core-api"
UPDATE_ENV = "UPDATE_GOLDEN"
REGENERATE = f"{UPDATE_ENV}=1 .venv/bin/pytest tests/slo/test_slo_golden.py"
UPDATED = "golden files updated; review the diff and commit"


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its path relative to it (POSIX), as bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def generated(out: Path) -> dict[str, bytes]:
    """What ``slo generate`` writes for the shipped spec, as the files on disk under ``out``."""
    res = generate(load_group(default_spec_path()), out)
    files = read_tree(out)
    reported = {p.relative_to(out).as_posix()
                for p in (*res.rule_files, *res.test_files, res.alertmanager)}
    assert set(files) == reported, "generate() wrote other files than it reports"
    return files


def golden_problems(expected: Mapping[str, bytes], actual: Mapping[str, bytes]) -> list[str]:
    """Differences between golden and generated files: missing or extra names, and a
    unified diff per file whose bytes differ; [] when identical."""
    problems = [f"{name}: golden file no longer generated"
                for name in sorted(set(expected) - set(actual))]
    problems += [f"{name}: generated but has no golden file"
                 for name in sorted(set(actual) - set(expected))]
    for name in sorted(set(expected) & set(actual)):
        if expected[name] != actual[name]:
            diff = "".join(difflib.unified_diff(
                expected[name].decode().splitlines(keepends=True),
                actual[name].decode().splitlines(keepends=True),
                f"golden/{name}", f"generated/{name}"))
            problems.append(diff or f"{name}: differs in bytes only (line endings?)")
    return problems


def update_golden(root: Path, actual: Mapping[str, bytes]) -> None:
    """Make ``root`` hold exactly ``actual``: stale files removed, the rest written."""
    for name in set(read_tree(root) if root.exists() else {}) - set(actual):
        (root / name).unlink()
    for name, data in actual.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def check_golden(root: Path, actual: Mapping[str, bytes], update: bool) -> None:
    """Fail unless ``root`` holds exactly ``actual``; with ``update`` rewrite it and fail."""
    if update:
        update_golden(root, actual)
        pytest.fail(f"{UPDATED} ({root})", pytrace=False)
    problems = golden_problems(read_tree(root) if root.exists() else {}, actual)
    if problems:
        pytest.fail("generated files differ from the golden files under "
                    f"{root}:\n\n" + "\n".join(problems) +
                    f"\n\nIf the change is intended, regenerate with `{REGENERATE}`, "
                    "review the diff and commit.", pytrace=False)


def test_generate_matches_golden_files(tmp_path: Path) -> None:
    check_golden(GOLDEN, generated(tmp_path / "out"), bool(os.environ.get(UPDATE_ENV)))


def test_golden_files_cover_every_slo() -> None:
    """The golden set is the whole output: a rule file and a test per SLO, and the fragment."""
    ids = [s.id for s in load_group(default_spec_path()).slos]
    assert sorted(read_tree(GOLDEN)) == sorted(
        [f"{i}.rules.yml" for i in ids] + [f"{i}.test.yml" for i in ids] + ["alertmanager.yml"])


def test_output_does_not_depend_on_libyaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    """The golden files hold on machines without libyaml: the pure-Python emitter writes
    the very same bytes as the C one (when present) the generator uses."""

    class PurePython(yaml.SafeDumper):
        yaml_representers = dict(slo.rules._Dumper.yaml_representers)

    default = generated(tmp_path / "default")
    monkeypatch.setattr(slo.rules, "_Dumper", PurePython)
    assert generated(tmp_path / "pure") == default


# The checker itself: each way of differing fails, and an update never passes.

def test_check_golden_passes_only_on_identical_files(tmp_path: Path) -> None:
    files = {"a.rules.yml": b"groups: []\n", "alertmanager.yml": b"routes: []\n"}
    update_golden(tmp_path, files)
    check_golden(tmp_path, files, update=False)  # identical: passes
    changed = {**files, "a.rules.yml": b"groups:\n- name: x\n"}
    with pytest.raises(pytest.fail.Exception) as failed:
        check_golden(tmp_path, changed, update=False)
    msg = str(failed.value)
    assert "--- golden/a.rules.yml" in msg and "+++ generated/a.rules.yml" in msg
    assert "+- name: x" in msg and REGENERATE in msg


@pytest.mark.parametrize(("actual", "says"), [
    ({"a.rules.yml": b"groups: []\n"}, "alertmanager.yml: golden file no longer generated"),
    ({"a.rules.yml": b"groups: []\n", "alertmanager.yml": b"routes: []\n",
      "b.rules.yml": b""}, "b.rules.yml: generated but has no golden file"),
    ({"a.rules.yml": b"groups: []\r\n", "alertmanager.yml": b"routes: []\n"},
     "a.rules.yml"),
])
def test_golden_problems(tmp_path: Path, actual: dict[str, bytes], says: str) -> None:
    expected = {"a.rules.yml": b"groups: []\n", "alertmanager.yml": b"routes: []\n"}
    problems = golden_problems(expected, actual)
    assert len(problems) == 1 and says in problems[0]


def test_update_rewrites_then_fails(tmp_path: Path) -> None:
    update_golden(tmp_path, {"stale.yml": b"old\n", "a.yml": b"old\n"})
    with pytest.raises(pytest.fail.Exception, match=UPDATED):
        check_golden(tmp_path, {"a.yml": b"new\n", "sub/b.yml": b"b\n"}, update=True)
    assert read_tree(tmp_path) == {"a.yml": b"new\n", "sub/b.yml": b"b\n"}
