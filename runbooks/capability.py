"""What this stack can actually do: the steps of a runbook whose actuator, check type or
probe the composition root did not wire. Pure.

A runbook with such a step is dry-run only here: the executor refuses to start it for real
(never pretend), and ``covenant runbook validate`` in a running stack prints why, as
``FILE:LINE: FIELD: message``. A ``check`` with ``on_fail: continue`` that no ``skip_if``
reads only records what it sees, so an unwired one does not block a run (it is recorded as
not observable); a guard (a check a ``skip_if`` names) does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

from runbooks.model import ActionStep, CheckStep, RollbackStep, Runbook, Step, VerifyStep

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Wired:
    """What the root wired, and why the rest is not (name -> reason, shown to people)."""

    actuators: Collection[str] = ()
    check_types: Collection[str] = ()
    probes: Collection[str] = ()
    why_not: Mapping[str, str] = field(default_factory=dict)


def unwired_problems(runbook: Runbook, wired: Wired) -> list[str]:
    """One line per step that cannot act or observe here (empty: it can run for real)."""
    return [runbook.problem(loc, msg) for loc, msg in _unwired(runbook, wired)]


def blocked(runbooks: Mapping[str, Runbook], wired: Wired) -> dict[str, list[str]]:
    """Runbook id -> its problems, for the runbooks that cannot run for real here."""
    out = {rb.id: unwired_problems(rb, wired) for rb in runbooks.values()}
    return {rb_id: problems for rb_id, problems in out.items() if problems}


def _unwired(rb: Runbook, wired: Wired) -> Iterator[tuple[Loc, str]]:
    guards = {s.skip_if for s in rb.steps if isinstance(s, ActionStep) and s.skip_if}
    for i, step in enumerate(rb.steps):
        if isinstance(step, ActionStep | RollbackStep):
            if step.action not in wired.actuators:
                yield ("steps", i, "action"), _cannot(step.action, "act", wired)
        elif isinstance(step, CheckStep | VerifyStep) and not _informational(step, guards):
            check = step.check
            if check.type not in wired.check_types:
                yield ("steps", i, "check", "type"), _cannot(f"{check.type} checks", "observe",
                                                             wired, check.type)
            elif check.type == "probe" and check.probe not in wired.probes:
                yield ("steps", i, "check", "probe"), _cannot(f"probe {check.probe}",
                                                              "observe", wired, check.probe)


def _informational(step: Step, guards: Collection[str]) -> bool:
    return (isinstance(step, CheckStep) and step.on_fail == "continue"
            and step.id not in guards)


def _cannot(what: str, verb: str, wired: Wired, key: str | None = None) -> str:
    why = wired.why_not.get(key or what, "it is not wired in this stack")
    return f"{what} cannot {verb} here: {why}; this runbook runs only as a dry run here"
