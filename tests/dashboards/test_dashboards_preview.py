"""Previews drawn from Prometheus data (a stand-in API on httpx.MockTransport): the whole
dashboard on its grid and, on request, each panel; variables resolved as Grafana would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboards.errors import DashboardError
from dashboards.generate import rendered
from dashboards.inputs import DashboardInputs
from dashboards.preview import render
from dashboards.preview_data import variable_values
from dashboards.prometheus import Prometheus, Window
from tests.dashboards.fake_prometheus import handler

NOW = 1_700_000_000.0
WINDOW = Window(NOW - 900, NOW, 15)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def every(inputs: DashboardInputs) -> dict[str, dict[str, Any]]:
    return rendered(inputs)


def test_a_dashboard_and_each_panel(every: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    d = every["covenant-overview"]
    with Prometheus("http://prometheus.test", transport=handler()) as prom:
        done = render(d, prom, WINDOW, tmp_path, per_panel=True)
    assert done.dashboard == tmp_path / "covenant-overview.png"
    assert done.dashboard.read_bytes().startswith(PNG)
    assert 10_000 < done.dashboard.stat().st_size < 300_000
    drawn = [p for p in d["panels"] if p["type"] != "row"]
    assert len(done.panels) == len(drawn)
    assert all(p.read_bytes().startswith(PNG) for p in done.panels)


def test_every_query_is_sent_with_variables_substituted(every: dict[str, dict[str, Any]],
                                                        tmp_path: Path) -> None:
    transport = handler()
    with Prometheus("http://prometheus.test", transport=transport) as prom:
        render(every["covenant-region-syd"], prom, WINDOW, tmp_path)
    seen: list[str] = transport.seen  # type: ignore[attr-defined]
    targets = [t["expr"] for p in every["covenant-region-syd"]["panels"]
               for t in p.get("targets", [])]
    annotations = [a for a in every["covenant-region-syd"]["annotations"]["list"]
                   if a.get("expr")]  # the incidents and the runbook runs
    assert len(annotations) == 2
    assert len([q for q in seen if q]) == len(targets) + len(annotations)
    assert all("$" not in q for q in seen)
    assert any('region="syd"' in q and "[60s]" in q for q in seen)


def test_a_panel_without_data_says_so(every: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    with Prometheus("http://prometheus.test", transport=handler(frozenset({"rate("}))) as prom:
        done = render(every["covenant-overview"], prom, WINDOW, tmp_path)
    assert done.dashboard.stat().st_size > 5_000


def test_variables_given_constant_all_or_first_known(every: dict[str, dict[str, Any]]) -> None:
    with Prometheus("http://prometheus.test", transport=handler()) as prom:
        anomaly = variable_values(every["covenant-anomaly"], prom, {})
        assert anomaly["region"] == "ams"  # the first region Prometheus knows
        assert variable_values(every["covenant-anomaly"], prom, {"region": "syd"})["region"] \
            == "syd"
        assert variable_values(every["covenant-overview"], prom, {})["region"] == ".+"
        assert variable_values(every["covenant-region-jnb"], prom, {})["region"] == "jnb"
        with pytest.raises(DashboardError, match="has no variable colour; its variables are"):
            variable_values(every["covenant-overview"], prom, {"colour": "red"})
