"""`covenant runbook ...` on a small Typer app: the library alone (list, show, validate,
render, run --dry-run) and with a wired context (run, approve, status, call, probe)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from typer.testing import CliRunner

from runbooks import cli
from runbooks.cli import RunbookContext
from runbooks.ports import Runners
from tests.runbooks.fakes import gated_runbook, rig

RUNNER = CliRunner()


def app_with(factory: cli.ContextFactory = cli.library_context) -> typer.Typer:
    app, bench = typer.Typer(), typer.Typer()
    app.add_typer(bench, name="bench")
    cli.register(app, bench, factory)
    return app


def test_list_show_and_validate_work_with_the_library_alone() -> None:
    app = app_with()
    listed = RUNNER.invoke(app, ["runbook", "list"])
    assert listed.exit_code == 0 and "postgres-primary-down" in listed.output
    assert "evidence-collection-failing" in listed.output
    shown = RUNNER.invoke(app, ["runbook", "show", "nats-outage"])
    assert shown.exit_code == 0 and "# NATS outage" in shown.output
    html = RUNNER.invoke(app, ["runbook", "show", "nats-outage", "--html"])
    assert html.output.startswith("<!doctype html>")
    valid = RUNNER.invoke(app, ["runbook", "validate"])
    assert valid.exit_code == 0 and "10 runbook(s) valid" in valid.output
    typo = RUNNER.invoke(app, ["runbook", "show", "nats-outag"])
    assert typo.exit_code == 1 and "did you mean 'nats-outage'" in typo.output


def test_validate_prints_file_line_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: t\nseverity: P2\nowner: o\nsteps:\n  - id: a\n"
                   "    kind: action\n    action: route.dran\n    args: {region: syd}\n")
    result = RUNNER.invoke(app_with(), ["runbook", "validate", str(bad)])
    assert result.exit_code == 1
    assert (f"{bad}:8: steps[0].action: unknown actuator 'route.dran'; did you mean "
            "'route.drain'?") in result.output


def test_a_dry_run_shows_substituted_calls_and_calls_nothing() -> None:
    result = RUNNER.invoke(app_with(), ["runbook", "run", "latency-spike", "--region", "syd",
                                        "--input", "threshold_s=0.3", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "nothing is called" in result.output
    assert "chaos.pause(reason='latency spike in syd')" in result.output
    assert "region.latency_s" in result.output and "expect above 0.3" in result.output
    assert 'rate(http_request_duration_seconds_bucket{region="syd"}[5m])' in result.output
    bad = RUNNER.invoke(app_with(), ["runbook", "run", "latency-spike", "--region", "mars",
                                     "--dry-run"])
    assert bad.exit_code == 1 and "region 'mars' does not exist" in bad.output


def test_acting_without_a_stack_says_what_is_missing(tmp_path: Path) -> None:
    app = app_with()
    run = RUNNER.invoke(app, ["runbook", "run", "latency-spike", "--region", "syd"])
    assert run.exit_code == 1 and "no executor is wired here" in run.output
    status = RUNNER.invoke(app, ["runbook", "status"])
    assert status.exit_code == 1 and "no journal is wired" in status.output
    rendered = RUNNER.invoke(app, ["runbook", "render", "--out", str(tmp_path)])
    assert rendered.exit_code == 0 and (tmp_path / "nats-outage.md").exists()


GATED = gated_runbook("sre-lead")


def test_run_approve_and_status_with_a_wired_context() -> None:
    r = rig(GATED)
    r.probes.script = {"region.health": ["healthy"]}
    executor = r.executor()

    @contextlib.contextmanager
    def wired() -> Iterator[RunbookContext]:
        yield RunbookContext(r.runbooks, r.journal, executor,
                             Runners(checks={"probe": r.probes}, actuators=r.actuators()))

    app = app_with(wired)
    started = RUNNER.invoke(app, ["runbook", "run", "gated", "--region", "iad", "--as", "ann"])
    assert started.exit_code == 0, started.output
    assert "run #1 gated in iad: waiting" in started.output and "waiting_approval" in (
        started.output)
    refused = RUNNER.invoke(app, ["runbook", "approve", "1", "ok", "--as", "bob",
                                  "--role", "sre"])
    assert refused.exit_code == 1 and "needs one of: sre-lead" in refused.output
    approved = RUNNER.invoke(app, ["runbook", "approve", "1", "ok", "--as", "cy",
                                   "--role", "sre-lead"])
    assert approved.exit_code == 0 and "succeeded" in approved.output
    status = RUNNER.invoke(app, ["runbook", "status", "1"])
    assert status.exit_code == 0
    assert "✓" in status.output and "by cy" in status.output
    assert "route.drain(region='iad'): route.drain done" in status.output
    listing = RUNNER.invoke(app, ["runbook", "status"])
    assert "#1" in listing.output and "cli:ann" in listing.output
    missing = RUNNER.invoke(app, ["runbook", "status", "7"])
    assert missing.exit_code == 1 and "no run #7" in missing.output
    called = RUNNER.invoke(app, ["runbook", "call", "cache.flush", "region=sin"])
    assert called.output.strip() == "cache.flush done" and r.called("cache.flush") == [
        {"region": "sin"}]
    probed = RUNNER.invoke(app, ["runbook", "probe", "region.health", "region=sin"])
    assert probed.output.strip() == "'healthy'"


RUN = {"id": 7, "runbook": "gated", "region": "iad", "status": "waiting", "active": True,
       "actor": "api:ann", "trigger": "", "incident": None, "inputs": {"region": "iad"},
       "started_at": 1.0, "deadline_at": 3601.0, "ended_at": None, "escalated_at": None,
       "resolved_at": None, "error": "",
       "steps": [{"index": 0, "id": "ok", "kind": "approval", "status": "waiting_approval",
                  "actor": "", "attempt": 1, "started_at": 1.0, "ended_at": None,
                  "output": "", "error": ""}], "triggers": []}


def test_with_the_api_the_cli_starts_approves_and_reads_runs_with_the_key() -> None:
    import httpx

    from runbooks.remote import RemoteRuns

    seen: list[tuple[str, str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.headers["authorization"]))
        if request.url.path == "/v1/runbooks/gated/runs":
            return httpx.Response(201, json={"decision": "admit", "reason": "free", "run": 7})
        if request.url.path.endswith("/approve"):
            return httpx.Response(200, json={"run": 7, "step": "ok", "by": "local-admin",
                                             "output": "approved by local-admin (sre-lead)"})
        if request.url.path == "/v1/runs":
            return httpx.Response(200, json={"runs": [RUN], "next": None})
        if request.url.path == "/v1/locks":
            return httpx.Response(200, json=[{"region": "iad", "holder": "runbook:gated"},
                                             {"region": "syd", "holder": None}])
        return httpx.Response(200, json=RUN)

    def remote(url: str) -> RemoteRuns:
        return RemoteRuns(url, "cov_test", transport=httpx.MockTransport(handler))

    app, bench = typer.Typer(), typer.Typer()
    cli.register(app, bench, cli.library_context, remote=remote)
    started = RUNNER.invoke(app, ["runbook", "run", "gated", "--region", "iad"])
    assert started.exit_code == 1 and "unknown runbook 'gated'" in started.output  # local
    started = RUNNER.invoke(app, ["runbook", "run", "latency-spike", "--region", "iad"])
    assert ("POST", "/v1/runbooks/latency-spike/runs", "Bearer cov_test") in seen
    approved = RUNNER.invoke(app, ["runbook", "approve", "7", "ok"])
    assert approved.exit_code == 0 and "approved by local-admin (sre-lead)" in approved.output
    status = RUNNER.invoke(app, ["runbook", "status"])
    assert status.exit_code == 0 and "#7" in status.output and "waiting" in status.output
    assert "region locks: iad by runbook:gated" in status.output


def test_with_the_api_down_the_cli_says_how_to_start_it() -> None:
    import httpx

    from runbooks.remote import RemoteRuns

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app, bench = typer.Typer(), typer.Typer()
    cli.register(app, bench, cli.library_context, remote=lambda url: RemoteRuns(
        url, None, transport=httpx.MockTransport(refused)))
    status = RUNNER.invoke(app, ["runbook", "status", "--url", "http://127.0.0.1:9"])
    assert status.exit_code == 1
    assert "the control plane at http://127.0.0.1:9 is not answering (ConnectError); start " \
           "it with `covenant up`, or pass --url" in status.output
    listed = RUNNER.invoke(app, ["runbook", "list"])  # works without it
    assert listed.exit_code == 0 and "latency-spike" in listed.output
