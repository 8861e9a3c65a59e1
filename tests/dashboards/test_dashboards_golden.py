"""`dashboards build` on the shipped inputs, byte for byte against tests/dashboards/golden/
(regenerate: UPDATE_GOLDEN=1 .venv/bin/pytest tests/dashboards/test_dashboards_golden.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboards.generate import generate
from dashboards.inputs import DashboardInputs
from dashboards.provisioning import Provisioning
from tests.dashboards.golden_files import check, problems, read_tree, updating

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = ".venv/bin/pytest tests/dashboards/test_dashboards_golden.py"
PROVISIONING = Provisioning("/var/lib/grafana/dashboards/covenant", "http://127.0.0.1:9090",
                            "15s")


def test_build_matches_golden_files(inputs: DashboardInputs, tmp_path: Path) -> None:
    built = generate(inputs, tmp_path, PROVISIONING)
    files = read_tree(tmp_path)
    assert set(files) == {p.relative_to(tmp_path).as_posix() for p in
                          (*built.dashboards, built.lint_file, *built.provisioning)}
    check(GOLDEN, files, REGENERATE, updating())


def test_output_is_deterministic(inputs: DashboardInputs, tmp_path: Path) -> None:
    generate(inputs, tmp_path / "a", PROVISIONING)
    generate(inputs, tmp_path / "b", PROVISIONING)
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")


def test_golden_checker_fails_on_every_kind_of_difference(tmp_path: Path) -> None:
    expected = {"a.json": b"{}\n", "b.json": b"[]\n"}
    assert problems(expected, expected) == []
    found = problems(expected, {"a.json": b'{"x": 1}\n', "c.json": b""})
    assert any("--- golden/a.json" in f for f in found)
    assert "b.json: golden file no longer generated" in found
    assert "c.json: generated but has no golden file" in found
    with pytest.raises(pytest.fail.Exception, match="updated; review"):
        check(tmp_path, {"new.json": b"{}\n"}, REGENERATE, update=True)
    assert read_tree(tmp_path) == {"new.json": b"{}\n"}
