"""Pages for people: a runbook as Markdown or HTML - when it runs, what each step does, how
to do it by hand, how to roll back, and its latest runs from the journal.

Pure: the journal's runs come in as an argument. ``docs/runbooks/<id>.md`` are these pages
for the shipped library (without runs), kept current by a golden test.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from runbooks.doc import Block, Bullets, Code, Heading, Para, Table, to_html, to_markdown
from runbooks.journal import RunRecord
from runbooks.model import (
    REGION_INPUT,
    ActionStep,
    ApprovalStep,
    CheckStep,
    ManualStep,
    RollbackStep,
    Runbook,
    Step,
    VerifyStep,
)
from runbooks.plan import PlannedStep, plan, substitute_args, substitute_check
from runbooks.templating import Scalar

GENERATED = ("<!-- Generated from runbooks/library/{id}.yaml by `covenant runbook render`. "
             "Do not edit: edit the YAML and regenerate. -->")
_PLAIN = re.compile(r"^[\w.<>:/@,=+-]+$")


def placeholders(runbook: Runbook) -> dict[str, Scalar]:
    return {i.name: f"<{i.name}>" for i in runbook.inputs}


def render_markdown(runbook: Runbook, runs: Sequence[RunRecord] = ()) -> str:
    return GENERATED.format(id=runbook.id) + "\n\n" + to_markdown(document(runbook, runs))


def render_html(runbook: Runbook, runs: Sequence[RunRecord] = ()) -> str:
    return to_html(document(runbook, runs), runbook.title)


def document(runbook: Runbook, runs: Sequence[RunRecord] = ()) -> list[Block]:
    rb = runbook
    pages = "pages on-call" if rb.severity.pages else "files a ticket"
    blocks: list[Block] = [
        Heading(1, rb.title),
        Para(f"`{rb.id}` · severity **{rb.severity}** ({pages}) · owner **{rb.owner}** · "
             f"run deadline {rb.deadline_s / 60:g} min"),
    ]
    if rb.description:
        blocks.append(Para(" ".join(rb.description.split())))
    blocks += _triggers(rb) + _inputs(rb) + _steps(rb) + _by_hand(rb) + _rollback(rb)
    blocks += _escalation(rb) + _runs(runs)
    return blocks


def _triggers(rb: Runbook) -> list[Block]:
    items = []
    for t in rb.triggers:
        if t.alert is not None:
            where = f" where {', '.join(f'`{m}`' for m in t.matchers)}" if t.matchers else ""
            items.append(f"Alertmanager alert `{t.alert}`{where}")
        else:
            items.append(f"reconciler verdict `{t.verdict}`")
    items.append(f"by hand: `covenant runbook run {rb.id} --region <region>`")
    controls = ", ".join(rb.controls) if rb.controls else "none listed"
    return [Heading(2, "When it runs"), Bullets(tuple(items)),
            Para(f"Evidence for controls: {controls}. Every run is journaled step by step.")]


def _inputs(rb: Runbook) -> list[Block]:
    rows = tuple((f"`{i.name}`", str(i.type), "yes" if i.required else "no",
                  "" if i.default is None else f"`{i.default}`",
                  i.description or (REGION_INPUT.description if i.name == "region" else ""))
                 for i in sorted(rb.inputs, key=lambda i: i.name != "region"))
    return [Heading(2, "Inputs"), Table(("name", "type", "required", "default", "description"),
                                        rows)]


def _steps(rb: Runbook) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Steps")]
    values = placeholders(rb)
    for planned, step in zip(plan(rb, values), rb.steps, strict=True):
        blocks.append(Heading(3, f"{planned.index + 1}. {planned.title} ({step.kind})"))
        blocks.append(Bullets(tuple(_step_lines(planned, step, values))))
    return blocks


def _step_lines(planned: PlannedStep, step: Step, values: Mapping[str, Scalar]) -> list[str]:
    verb = {"check": "Reads", "verify": "Polls", "action": "Calls", "rollback": "Calls",
            "manual": "A person", "approval": "Asks"}[step.kind]
    lines = [f"{verb}: `{planned.call}`" if step.kind not in ("manual", "approval")
             else f"{verb}: {planned.call}", f"Step id `{step.id}`; {planned.note}."]
    lines.append(f"By hand: {by_hand(step, values)}")
    return lines


def by_hand(step: Step, values: Mapping[str, Scalar]) -> str:
    """The command a person types to do this step without the executor."""
    if isinstance(step, CheckStep | VerifyStep):
        check = substitute_check(step.check, values)
        if check.type == "probe":
            args = " ".join(_shell(k, v) for k, v in check.args.items())
            return f"`covenant runbook probe {check.probe}{' ' + args if args else ''}`"
        if check.type == "promql":
            return f"`promtool query instant \"$PROMETHEUS_URL\" {shlex.quote(check.query)}`"
        if check.type == "sql":
            return f"on database `{check.database}`: `psql -Atc {shlex.quote(check.query)}`"
        return f"`curl -s -o /dev/null -w '%{{http_code}}' -X {check.method} {check.url}`"
    if isinstance(step, ActionStep | RollbackStep):
        args = " ".join(_shell(k, v) for k, v in substitute_args(step.args, values).items())
        return f"`covenant runbook call {step.action}{' ' + args if args else ''}`"
    if isinstance(step, ManualStep):
        return (f"do it, then `covenant runbook approve <run> {step.id} --as <you> --role "
                f"{_roles(step.approvers)}")
    assert isinstance(step, ApprovalStep)
    return f"`covenant runbook approve <run> {step.id} --as <you> --role {_roles(step.approvers)}"


def _roles(approvers: Sequence[str]) -> str:
    """The first role in the command, the others after it: ``sre` (or incident-commander)``."""
    rest = f" (or {', '.join(approvers[1:])})" if len(approvers) > 1 else ""
    return f"{approvers[0]}`{rest}"


def _shell(name: str, value: object) -> str:
    text = str(value)
    return f"{name}={text if _PLAIN.match(text) else shlex.quote(text)}"


def _by_hand(rb: Runbook) -> list[Block]:
    return [Heading(2, "Run it"), Code("\n".join((
        f"covenant runbook show {rb.id}",
        f"covenant runbook run {rb.id} --region <region> --dry-run   # every call, nothing done",
        f"covenant runbook run {rb.id} --region <region>",
        "covenant runbook status <run>                # steps and their state",
        "covenant runbook approve <run> <step> --as <you> --role <role>")))]


def _rollback(rb: Runbook) -> list[Block]:
    rollbacks = [s for s in rb.steps if isinstance(s, RollbackStep)]
    if not rollbacks:
        return [Heading(2, "Rolling back"), Para(
            "No rollback steps: nothing this runbook does is safer undone than left in place. "
            "A failed run stops where it failed and escalates; the steps above show the state.")]
    values = placeholders(rb)
    items = tuple(f"`{s.id}`: {s.title or s.action}, armed after step "
                  f"{rb.steps.index(s) + 1}{f' until {s.until}' if s.until else ''}; by hand "
                  f"{by_hand(s, values)}" for s in reversed(rollbacks))
    return [Heading(2, "Rolling back"), Para(
        "When a later step fails, the executor runs the armed rollback steps newest first "
        "(each journaled), then escalates:"), Bullets(items)]


def _escalation(rb: Runbook) -> list[Block]:
    return [Heading(2, "Escalation"), Para(
        f"A failed or timed-out run, or a gate nobody answered in time, raises the incident "
        f"to **{rb.severity.raised()}**, publishes `covenant.controlplane.runbook.failed` and "
        "pages through PagerDuty (dedup key `covenant-runbook-<run>`).")]


def _runs(runs: Sequence[RunRecord]) -> list[Block]:
    if not runs:
        return [Heading(2, "Latest runs"), Para("No runs recorded.")]
    rows = tuple((f"#{r.id}", datetime.fromtimestamp(r.started_at, UTC).strftime(
        "%Y-%m-%d %H:%M:%SZ"), r.region, str(r.status), r.actor, r.error[:120])
        for r in runs)
    return [Heading(2, "Latest runs"),
            Table(("run", "started", "region", "status", "by", "error"), rows)]


def write_pages(runbooks: Mapping[str, Runbook], directory: Path,
                runs_of: Callable[[str], Sequence[RunRecord]] = lambda _: ()) -> list[Path]:
    """``<id>.md`` per runbook and an ``index.md``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for rb in sorted(runbooks.values(), key=lambda r: r.id):
        path = directory / f"{rb.id}.md"
        path.write_text(render_markdown(rb, runs_of(rb.id)), encoding="utf-8")
        written.append(path)
    index = directory / "index.md"
    index.write_text(render_index(runbooks), encoding="utf-8")
    return [*written, index]


def render_index(runbooks: Mapping[str, Runbook]) -> str:
    rows = tuple((f"[{rb.id}]({rb.id}.md)", rb.title, str(rb.severity), rb.owner)
                 for rb in sorted(runbooks.values(), key=lambda r: r.id))
    return (GENERATED.format(id="*") + "\n\n" + to_markdown(
        [Heading(1, "Runbooks"), Para("The shipped library (`runbooks/library`). The format "
                                       "and the executor: [../runbooks.md](../runbooks.md)."),
         Table(("runbook", "title", "severity", "owner"), rows)]))
