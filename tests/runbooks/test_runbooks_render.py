"""Pages for people: the committed docs/runbooks/*.md are what render.py makes of the library
(regenerate with UPDATE_GOLDEN=1), and the HTML and latest-runs sections."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbooks.journal import RunRecord, RunStatus
from runbooks.render import by_hand, render_html, render_index, render_markdown
from runbooks.spec import load_library

DOCS = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
LIBRARY = load_library()
PAGES = {f"{rb.id}.md": render_markdown(rb) for rb in LIBRARY.values()}
PAGES["index.md"] = render_index(LIBRARY)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_committed_pages_are_current(name: str) -> None:
    path = DOCS / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != PAGES[name]:
            path.write_text(PAGES[name], encoding="utf-8")
            pytest.fail(f"{path} updated; review and commit")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == PAGES[name], (
        f"{path} is out of date: run `UPDATE_GOLDEN=1 pytest tests/runbooks`")


def test_no_stale_pages_remain() -> None:
    assert {p.name for p in DOCS.glob("*.md")} == set(PAGES)


def test_a_page_says_when_it_runs_what_each_step_does_and_how_to_roll_back() -> None:
    page = PAGES["region-unreachable.md"]
    for part in ("## When it runs", "reconciler verdict `region_down`", "## Steps",
                 "`route.drain(region='<region>', reason='region unreachable')`",
                 "covenant runbook run region-unreachable --region <region> --dry-run",
                 "## Rolling back", "`undo-drain`", "until others-absorb", "raises the incident "
                 "to **P0**", "## Latest runs", "No runs recorded."):
        assert part in page, part
    assert "No rollback steps" in PAGES["latency-spike.md"]


def test_latest_runs_come_from_the_journal_and_html_is_escaped() -> None:
    rb = LIBRARY["nats-outage"]
    runs = [RunRecord(12, rb.id, "syd", {}, RunStatus.FAILED, "alertmanager:X", "k",
                      1_700_000_000.0, 1_700_003_600.0, 1_700_000_100.0, "step drain <failed>")]
    page = render_markdown(rb, runs)
    assert "| #12 | 2023-11-14 22:13:20Z | syd | failed | alertmanager:X | step drain <failed> |" \
        in page
    html = render_html(rb, runs)
    assert html.startswith("<!doctype html>") and "<title>NATS outage" in html
    assert "step drain &lt;failed&gt;" in html and "<code>bus_down</code>" in html


@pytest.mark.parametrize(("rb_id", "step_id", "command"), [
    ("region-unreachable", "drain",
     "`covenant runbook call route.drain region=<region> reason='region unreachable'`"),
    ("region-unreachable", "unreachable",
     "`covenant runbook probe region.reachable region=<region>`"),
    ("nats-outage", "outbox-empty", "on database `core-<region>`: `psql -Atc"),
    ("latency-spike", "approve-pause",
     "`covenant runbook approve <run> approve-pause --as <you> --role sre-oncall` "
     "(or incident-commander)"),
    ("postgres-primary-down", "rejoin-old-primary",
     "do it, then `covenant runbook approve <run> rejoin-old-primary --as <you> --role "
     "sre-database`"),
])
def test_by_hand_commands(rb_id: str, step_id: str, command: str) -> None:
    rb = LIBRARY[rb_id]
    values = {i.name: f"<{i.name}>" for i in rb.inputs}
    assert by_hand(rb.step(step_id), values).startswith(command)
