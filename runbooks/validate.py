"""Validate first, then run: every problem of a runbook, found before anything executes.

:func:`structural_problems` needs only the runbook (ids, references, templates) and runs at
load; :func:`validate` adds what the project knows (actuators, probes, the alerts it
generates, the reconciler's verdicts, regions), which the composition root passes in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping

from kernel.regions import REGION_CODES
from runbooks.actuators import ACTUATORS, Catalogue, arg_problems, suggest
from runbooks.errors import RunbookSpecError
from runbooks.expect import LIMITS
from runbooks.model import (
    ActionStep,
    ApprovalStep,
    CheckStep,
    InputType,
    ManualStep,
    RollbackStep,
    Runbook,
    VerifyStep,
)
from runbooks.probes import PROBES
from runbooks.templating import ArgValue, malformed, value_references, whole_reference

Loc = tuple[str | int, ...]
# Which actuator argument types an input of each type may fill as a whole reference.
_FITS: Mapping[InputType, frozenset[str]] = {
    InputType.REGION: frozenset({"region", "str"}),
    InputType.STRING: frozenset({"str", "region", "severity"}),
    InputType.INT: frozenset({"int", "float", "str"}),
    InputType.FLOAT: frozenset({"float", "str"}),
    InputType.BOOL: frozenset({"bool", "str"}),
}


def validate(runbook: Runbook, known_alerts: Collection[str] | None,
             known_verdicts: Collection[str],
             actuators: Catalogue = ACTUATORS, probes: Collection[str] = tuple(PROBES),
             regions: Collection[str] = REGION_CODES) -> None:
    """Raise :class:`RunbookSpecError` listing every problem; return quietly when valid.

    ``known_alerts`` None skips the alert-name check (no rules to compare with, e.g. the CLI
    without a stack); the composition root always passes the generated names."""
    found = problems(runbook, known_alerts, known_verdicts, actuators, probes, regions)
    if found:
        raise RunbookSpecError(found, f"runbook {runbook.id!r} is not valid")


def problems(runbook: Runbook, known_alerts: Collection[str] | None,
             known_verdicts: Collection[str],
             actuators: Catalogue = ACTUATORS, probes: Collection[str] = tuple(PROBES),
             regions: Collection[str] = REGION_CODES) -> list[str]:
    out = structural_problems(runbook)
    out += [runbook.problem(loc, msg) for loc, msg in _trigger_problems(
        runbook, known_alerts, known_verdicts)]
    out += [runbook.problem(loc, msg) for loc, msg in _call_problems(runbook, actuators, regions)]
    out += [runbook.problem(loc, msg) for loc, msg in _probe_problems(runbook, probes)]
    return out


def structural_problems(runbook: Runbook) -> list[str]:
    """Ids, references and templates: what a runbook gets wrong on its own."""
    found = [*_input_problems(runbook), *_step_problems(runbook),
             *_template_problems(runbook), *_limit_problems(runbook)]
    return [runbook.problem(loc, msg) for loc, msg in found]


def _input_problems(rb: Runbook) -> Iterator[tuple[Loc, str]]:
    counts = Counter(i.name for i in rb.inputs)
    for i, spec in enumerate(rb.inputs):
        loc: Loc = ("inputs", i)
        if counts[spec.name] > 1:
            yield loc + ("name",), f"input {spec.name!r} is declared {counts[spec.name]} times"
        if spec.name == "region" and spec.type is not InputType.REGION:
            yield loc + ("type",), "the region input is always of type region"
        if spec.required and spec.default is not None:
            yield loc + ("default",), "a required input has no default; drop one of the two"
        if not spec.required and spec.default is None:
            yield loc, (f"optional input {spec.name!r} needs a default (what a run uses when "
                        "it is not given)")


def _step_problems(rb: Runbook) -> Iterator[tuple[Loc, str]]:
    seen: dict[str, int] = {}
    for i, step in enumerate(rb.steps):
        loc: Loc = ("steps", i)
        if step.id in seen:
            yield loc + ("id",), f"duplicate step id {step.id!r} (also steps[{seen[step.id]}])"
        seen.setdefault(step.id, i)
        if isinstance(step, ActionStep) and step.skip_if is not None:
            yield from _skip_if_problems(rb, i, step.skip_if)
        if isinstance(step, RollbackStep) and step.until is not None:
            yield from _until_problems(rb, i, step.until)
        if isinstance(step, ManualStep | ApprovalStep) and step.deadline_s > rb.deadline_s:
            yield loc + ("deadline_s",), (f"{step.deadline_s:g} s is past the run's deadline "
                                          f"({rb.deadline_s:g} s); shorten it")
    if isinstance(rb.steps[-1], RollbackStep):
        yield ("steps", len(rb.steps) - 1), ("a rollback runs when a LATER step fails, so as "
                                             "the last step it never runs; move it after the "
                                             "step it undoes")


def _skip_if_problems(rb: Runbook, index: int, target: str) -> Iterator[tuple[Loc, str]]:
    loc: Loc = ("steps", index, "skip_if")
    before = {s.id: s for s in rb.steps[:index]}
    if target not in before:
        later = any(s.id == target for s in rb.steps[index:])
        yield loc, (f"step {target!r} comes after this action; skip_if names a PRECEDING check"
                    if later else f"unknown step {target!r}{suggest(target, before)}")
        return
    check = before[target]
    if not isinstance(check, CheckStep):
        yield loc, f"{target!r} is a {check.kind} step; skip_if names a check"
    elif check.on_fail != "continue":
        yield loc, (f"check {target!r} aborts the run when it does not hold, so it cannot mean "
                    "'not done yet'; give it on_fail: continue")


def _until_problems(rb: Runbook, index: int, target: str) -> Iterator[tuple[Loc, str]]:
    later = [s.id for s in rb.steps[index + 1:]]
    if target not in later:
        where = ("is this step or comes before it" if any(s.id == target for s in rb.steps)
                 else f"is not a step{suggest(target, later)}")
        yield ("steps", index, "until"), (f"{target!r} {where}; until names a LATER step, the "
                                          "last one whose failure this rollback covers")


def _strings(rb: Runbook) -> Iterator[tuple[Loc, ArgValue]]:
    for i, step in enumerate(rb.steps):
        loc: Loc = ("steps", i)
        if isinstance(step, ActionStep | RollbackStep):
            yield from ((loc + ("args", k), v) for k, v in step.args.items())
        elif isinstance(step, CheckStep | VerifyStep):
            for name in LIMITS:
                if isinstance(limit := getattr(step.expect, name), str):
                    yield loc + ("expect", name), limit
            check = step.check
            yield from ((loc + ("check", "args", k), v) for k, v in check.args.items())
            for name in ("url", "database", "query"):
                yield loc + ("check", name), getattr(check, name)
        elif isinstance(step, ManualStep):
            yield loc + ("instruction",), step.instruction
        elif isinstance(step, ApprovalStep):
            yield loc + ("prompt",), step.prompt


def _template_problems(rb: Runbook) -> Iterator[tuple[Loc, str]]:
    names = {i.name for i in rb.inputs}
    for loc, value in _strings(rb):
        texts = value if isinstance(value, list) else [value]
        for text in (t for t in texts if isinstance(t, str)):
            for bad in malformed(text):
                yield loc, f"{bad} is not a reference; write {{{{ inputs.NAME }}}}"
        for ref in value_references(value):
            if ref not in names:
                yield loc, f"unknown input {ref!r}{suggest(ref, names)}; declare it in inputs"


def _limit_problems(rb: Runbook) -> Iterator[tuple[Loc, str]]:
    for i, step in enumerate(rb.steps):
        if not isinstance(step, CheckStep | VerifyStep):
            continue
        for name in LIMITS:
            ref = whole_reference(getattr(step.expect, name) or 0)
            spec = rb.input(ref) if ref else None
            if spec is not None and spec.type not in (InputType.INT, InputType.FLOAT):
                yield ("steps", i, "expect", name), (f"input {spec.name!r} is a {spec.type}; "
                                                     "a limit needs an int or float input")


def _trigger_problems(rb: Runbook, alerts: Collection[str] | None,
                      verdicts: Collection[str]) -> Iterator[tuple[Loc, str]]:
    for i, trigger in enumerate(rb.triggers):
        if trigger.alert is not None and alerts is not None and trigger.alert not in alerts:
            yield ("triggers", i, "alert"), (f"alert {trigger.alert!r} is not generated by "
                                             f"this project{suggest(trigger.alert, alerts)}")
        if trigger.verdict is not None and trigger.verdict not in verdicts:
            yield ("triggers", i, "verdict"), (f"unknown verdict {trigger.verdict!r}"
                                               f"{suggest(trigger.verdict, verdicts)}; known: "
                                               f"{', '.join(sorted(verdicts))}")


def _call_problems(rb: Runbook, actuators: Catalogue,
                   regions: Collection[str]) -> Iterator[tuple[Loc, str]]:
    for i, step in enumerate(rb.steps):
        if not isinstance(step, ActionStep | RollbackStep):
            continue
        loc: Loc = ("steps", i)
        spec = actuators.get(step.action)
        if spec is None:
            yield loc + ("action",), (f"unknown actuator {step.action!r}"
                                      f"{suggest(step.action, actuators)}")
            continue
        whole = {k: whole_reference(v) for k, v in step.args.items()}
        templated = {k for k, ref in whole.items() if ref is not None}
        for arg, msg in arg_problems(spec, step.args, templated):
            yield (loc + ("args", arg) if arg else loc + ("args",)), msg
        for arg, ref in whole.items():
            yield from _reference_fit(rb, loc + ("args", arg), spec.args.get(arg), ref)
        for arg, value in step.args.items():
            known = spec.args.get(arg)
            if (known is not None and known.type == "region" and arg not in templated
                    and isinstance(value, str) and value not in regions):
                yield loc + ("args", arg), (f"region {value!r} does not exist; use one of "
                                            f"{', '.join(regions)}")


def _reference_fit(rb: Runbook, loc: Loc, arg: object, ref: str | None
                   ) -> Iterator[tuple[Loc, str]]:
    spec = rb.input(ref) if ref else None
    arg_type = getattr(arg, "type", None)
    if spec is not None and arg_type is not None and arg_type not in _FITS[spec.type]:
        yield loc, f"input {spec.name!r} is a {spec.type}, this argument takes a {arg_type}"


def _probe_problems(rb: Runbook, probes: Collection[str]) -> Iterator[tuple[Loc, str]]:
    for i, step in enumerate(rb.steps):
        if isinstance(step, CheckStep | VerifyStep) and step.check.type == "probe":
            name = step.check.probe
            if name not in probes:
                yield ("steps", i, "check", "probe"), (f"unknown probe {name!r}"
                                                       f"{suggest(name, probes)}")
                continue
            allowed = PROBES[name][1] if name in PROBES else None
            for arg in step.check.args:
                if allowed is not None and arg not in allowed:
                    yield ("steps", i, "check", "args", arg), (
                        f"probe {name} takes no argument {arg!r}; it takes "
                        f"{', '.join(allowed) or 'none'}")
