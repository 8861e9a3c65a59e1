"""`covenant bench outbox --json` runs against the real NATS and ends with its figures."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from covenant.cli import app


def test_bench_outbox_prints_one_json_object_last(nats_url: str) -> None:
    result = CliRunner().invoke(
        app, ["bench", "outbox", "--events", "300", "--writers", "2", "--nats-url", nats_url,
              "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["events"] == 300 and figures["writers"] == 2
    assert figures["stream_messages"] == 600  # both phases, nothing lost or duplicated
    assert figures["end_to_end_events_per_s"] > 0 and figures["drain_events_per_s"] > 0
