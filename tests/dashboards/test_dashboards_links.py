"""Nothing dangling: every generated alert's runbook_url names a shipped runbook page, every
dashboard link and UID resolves, every control-plane link is a route the control plane
serves (its access rules list every route; the live test also GETs each one)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from covenant.observability import runbook_id
from dashboards.errors import DashboardError
from dashboards.generate import rendered
from dashboards.inputs import DashboardInputs, SloRef
from runbooks.render import render_markdown
from runbooks.spec import load_library
from tests.dashboards.walk import alerts, links

Json = dict[str, Any]
RUNBOOK_PAGE = "/runbooks/"
DOCS = Path(__file__).parents[2] / "docs" / "runbooks"


def served(path: str) -> bool:
    """Whether the control plane answers GET ``path``: every route it serves has an access
    rule (controlplane.access.RULES, templates such as ``/runbooks/{runbook_id}``)."""
    from controlplane.access import RULES

    return any(re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path)
               for method, template in RULES if method == "GET")


def test_every_alert_links_a_shipped_runbook_page() -> None:
    library = load_library()
    found = list(alerts())
    assert len(found) >= 15 * 4  # page, ticket, exhausted, no-data per SLO
    for alert in found:
        url = alert["annotations"].get("runbook_url", "")
        rb = runbook_id(url)
        assert rb in library, f"{alert['alert']}: runbook_url {url!r} names no shipped runbook"
        assert urlsplit(url).path == f"{RUNBOOK_PAGE}{rb}" and served(urlsplit(url).path)
        assert f"# {library[rb].title}" in render_markdown(library[rb])  # the page renders
        assert (DOCS / f"{rb}.md").is_file(), f"no docs/runbooks/{rb}.md"


def test_every_link_resolves(inputs: DashboardInputs) -> None:
    every = rendered(inputs)
    library = load_library()
    checked = 0
    for d in every.values():
        for url in links(d):
            for region in inputs.regions:
                one = url.replace("${__field.labels.region}", region)
                parts = urlsplit(one)
                if one.startswith("/d/"):
                    assert parts.path.removeprefix("/d/") in every, f"{d['uid']}: {one}"
                else:
                    assert one.startswith(inputs.control_plane_url), one
                    assert served(parts.path), f"{d['uid']}: the control plane serves no {one}"
                    if parts.path.startswith(RUNBOOK_PAGE):
                        rb = parts.path.removeprefix(RUNBOOK_PAGE)
                        assert rb in library and (DOCS / f"{rb}.md").is_file(), one
                checked += 1
    assert checked > 100


def test_uids_are_unique_stable_and_linked(inputs: DashboardInputs) -> None:
    every = rendered(inputs)
    assert sorted(every) == sorted([
        "covenant-overview", "covenant-slos", "covenant-anomaly", "covenant-controlplane",
        *(f"covenant-region-{r}" for r in inputs.regions)])
    targets = {urlsplit(u).path.removeprefix("/d/") for d in every.values()
               for u in links(d) if u.startswith("/d/") and "${" not in u}
    assert targets == set(every)  # each dashboard reachable from another


def test_an_unknown_runbook_is_refused_when_built(inputs: DashboardInputs) -> None:
    with pytest.raises(DashboardError, match="runbook 'nope' is not shipped; use one of"):
        inputs.runbook_url("nope")
    bad = SloRef("x", "core-api", "x", 99.0, "availability", "", "A", "core-api-latency")
    with pytest.raises(DashboardError, match=r"SLO x links runbook 'core-api-latency'.*"
                                              r"/runbooks/<id>"):
        DashboardInputs(slos=(bad,), runbooks=inputs.runbooks, anomaly_metrics=())


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8000/runbooks/latency-spike", "latency-spike"),
    ("https://covenant.example/runbooks/core-api-latency/", "core-api-latency"),
    ("https://wiki.example/pages/latency", ""),
])
def test_runbook_id(url: str, expected: str) -> None:
    assert runbook_id(url) == expected
