"""covenant.yaml: defaults, nearest-region order and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.desired import default_desired, great_circle_km, load_desired, parse_desired
from controlplane.errors import DesiredStateError


def test_embedded_default_ports_and_names() -> None:
    d = default_desired()
    assert d.region_names() == ("ams", "iad", "syd", "sin", "sfo", "jnb")
    assert [r.endpoint for r in d.regions][:2] == ["http://127.0.0.1:8201", "http://127.0.0.1:8202"]
    assert d.region("jnb").origin == "http://127.0.0.1:8106"
    assert (d.stack.control_plane, d.stack.front_door, d.stack.toxiproxy) == (8000, 8080, 8474)
    assert d.probe.interval_s == 1.0


def test_nearest_order_by_great_circle() -> None:
    order = default_desired().nearest_order()
    assert order["syd"][0] == "sin"
    assert order["sfo"][0] == "iad"
    assert order["jnb"][0] == "sin"  # 8,700 km vs 9,000 km to ams
    assert order["ams"][0] == "iad"
    assert 16000 < great_circle_km(52.31, 4.76, -33.95, 151.18) < 17000


def test_policy_only_file_keeps_default_regions(tmp_path: Path) -> None:
    path = tmp_path / "covenant.yaml"
    path.write_text("probe:\n  interval_s: 0.5\nstack:\n  proxy_base: 9201\n")
    d = load_desired(path)
    assert d.probe.interval_s == 0.5
    assert d.regions[0].endpoint == "http://127.0.0.1:9201"


BAD_REGION = """\
regions:
  - name: ams
    latitude: 52.3
    longitude: 4.7
    endpoint: http://127.0.0.1:1
  - name: syd
    latitude: 300
    longitude: 151
    endpoint: http://127.0.0.1:2
"""


@pytest.mark.parametrize(("text", "line", "field"), [
    (BAD_REGION, 7, "regions.1.latitude"),
    ("probe:\n  interval_s: 1\n  timeout_s: -2\n", 3, "probe.timeout_s"),
    ("health:\n  degrade_after: 2\n  bogus: 1\n", 3, "health.bogus"),
    ("regions:\n  - name: ams\n    latitude: 1\n", 2, "regions.0.longitude"),
])
def test_invalid_file_names_file_line_and_field(tmp_path: Path, text: str, line: int,
                                                 field: str) -> None:
    path = tmp_path / "covenant.yaml"
    path.write_text(text)
    with pytest.raises(DesiredStateError) as info:
        load_desired(path)
    assert str(info.value).startswith(f"{path}:{line}: field '{field}'")


def test_not_yaml_and_duplicates_rejected() -> None:
    with pytest.raises(DesiredStateError, match="not valid YAML"):
        parse_desired("a: [\n")
    dup = "regions:\n" + "".join(
        f"  - {{name: ams, latitude: 1, longitude: 1, endpoint: 'http://x:{i}'}}\n"
        for i in range(2))
    with pytest.raises(DesiredStateError, match="must be unique"):
        parse_desired(dup)
    with pytest.raises(DesiredStateError, match="cannot read"):
        load_desired(Path("/nonexistent/covenant.yaml"))
