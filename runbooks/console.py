"""How runs and plans look in a terminal (rich): steps listed like a deploy log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from runbooks.journal import RunRecord, StepRecord, StepStatus
from runbooks.model import Runbook
from runbooks.plan import PlannedStep

MARKS: Mapping[StepStatus, tuple[str, str]] = {
    StepStatus.PENDING: ("·", "dim"),
    StepStatus.RUNNING: ("▶", "cyan"),
    StepStatus.SUCCEEDED: ("✓", "green"),
    StepStatus.FAILED: ("✗", "red"),
    StepStatus.SKIPPED: ("–", "dim"),
    StepStatus.WAITING_APPROVAL: ("⏸", "yellow"),
    StepStatus.ROLLED_BACK: ("↺", "magenta"),
    StepStatus.TIMED_OUT: ("⌛", "red"),
}


def stamp(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def print_library(console: Console, runbooks: Mapping[str, Runbook],
                  here: Mapping[str, Mapping[str, object]] | None = None) -> None:
    """The library; with ``here`` (the stack's /v1/runbooks), whether each runs for real."""
    table = Table()
    table.add_column("id", no_wrap=True)  # the handle every other command takes: never cut
    for name in ("severity", "owner", "title"):
        table.add_column(name)
    if here is not None:
        table.add_column("here")
    for rb in sorted(runbooks.values(), key=lambda r: r.id):
        row = [rb.id, str(rb.severity), rb.owner, rb.title]
        if here is not None:
            row.append("runs" if here.get(rb.id, {}).get("runnable") else "dry run only")
        table.add_row(*row)
    console.print(table)


def print_plan(console: Console, runbook: Runbook, steps: Sequence[PlannedStep],
               inputs: Mapping[str, object]) -> None:
    given = ", ".join(f"{k}={v}" for k, v in inputs.items())
    console.print(f"[bold]dry run[/] of {runbook.id} with {given}: nothing is called")
    for s in steps:
        console.print(f"  {s.index + 1:>2}. [bold]{s.id}[/] ({s.kind}) {s.title}",
                      highlight=False)
        console.print(f"      {s.call}", highlight=False, markup=False)
        console.print(f"      [dim]{s.note}[/]", highlight=False)


def print_runs(console: Console, runs: Sequence[RunRecord]) -> None:
    table = Table("run", "runbook", "region", "status", "started", "by", "error")
    for r in runs:
        table.add_row(f"#{r.id}", r.runbook, r.region, str(r.status), stamp(r.started_at),
                      r.actor, r.error[:60])
    console.print(table)
    if runs:
        console.print(f"[dim]older: --before {runs[-1].id}[/]")


def print_locks(console: Console, held: Mapping[str, str]) -> None:
    """Who holds each region's lock (runbooks, game days and DB failovers share it)."""
    line = ", ".join(f"{region} by {holder}" for region, holder in sorted(held.items()))
    console.print(f"region locks: {line or 'none held'}", highlight=False, markup=False)


def print_run(console: Console, run: RunRecord, steps: Sequence[StepRecord]) -> None:
    """One run like a deploy log: a line per step with its mark, state, time and result."""
    console.print(f"[bold]run #{run.id}[/] {run.runbook} in {run.region}: [bold]{run.status}"
                  f"[/] (started {stamp(run.started_at)} by {run.actor})", highlight=False)
    for s in steps:
        mark, style = MARKS[s.status]
        took = (f"{s.ended_at - s.started_at:.1f} s" if s.started_at is not None
                and s.ended_at is not None else "")
        line = s.error or s.output
        who = f" by {s.actor}" if s.actor and s.actor != "covenant" else ""
        console.print(f"  [{style}]{mark}[/] {s.index + 1:>2} {s.step_id:<24} {s.kind:<9} "
                      f"[{style}]{s.status:<16}[/] {took:>8}{who}", highlight=False)
        if line:
            console.print(f"       {line}", highlight=False, markup=False)
    if run.error:
        console.print(f"[red]{run.error}[/]", highlight=False)
