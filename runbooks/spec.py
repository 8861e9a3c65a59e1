"""Runbook files: YAML in, a :class:`~runbooks.model.Runbook` out, or every problem with its
``FILE:LINE: FIELD``.

The YAML is composed into a node tree once to learn the line of every key and list item;
a pydantic error's ``loc`` is then walked down that map, so an editor can jump to the fault.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from runbooks.errors import RunbookSpecError
from runbooks.model import Runbook, StepKind, field_path
from runbooks.validate import structural_problems

log = logging.getLogger(__name__)
Loc = tuple[str | int, ...]
_KINDS = {k.value for k in StepKind}


def library_dir() -> Path:
    """The runbooks shipped with Covenant (``runbooks/library/*.yaml``)."""
    return Path(str(resources.files("runbooks") / "library"))


def load_runbook(path: Path) -> Runbook:
    """Read, parse and structurally check one file (catalogue checks: :func:`validate`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunbookSpecError([f"{path}: cannot read: {exc.strerror}"]) from exc
    return parse_runbook(text, str(path))


def parse_runbook(text: str, source: str = "<text>") -> Runbook:
    data, lines = _compose(text, source)
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as exc:
        raise RunbookSpecError([_pydantic_problem(source, lines, e) for e in exc.errors()]
                               ) from exc
    runbook.with_source(source, lines)
    problems = structural_problems(runbook)
    if problems:
        raise RunbookSpecError(problems)
    return runbook


def load_library(directory: Path | None = None) -> dict[str, Runbook]:
    """Every ``*.yaml`` under ``directory`` (default: the shipped library), keyed by id."""
    directory = directory or library_dir()
    out: dict[str, Runbook] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            runbook = load_runbook(path)
        except RunbookSpecError as exc:
            problems.extend(exc.problems)
            continue
        if runbook.id in out:
            problems.append(runbook.problem(("id",), f"id {runbook.id!r} is also used by "
                                            f"{out[runbook.id].source}; ids must be unique"))
        out[runbook.id] = runbook
    if problems:
        raise RunbookSpecError(problems, f"invalid runbook library {directory}")
    log.debug("loaded %d runbooks from %s", len(out), directory)
    return out


def _compose(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RunbookSpecError([f"{source}:{line}: <yaml>: not valid YAML: {exc}"]) from exc
    if node is None or not isinstance(data, dict):
        raise RunbookSpecError([f"{source}:1: <root>: a runbook is a YAML mapping with id, "
                                "title, severity, owner and steps"])
    lines: dict[Loc, int] = {}
    _walk(node, (), lines)
    return data, lines


def _walk(node: yaml.Node, path: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (str(key.value),)
            lines[sub] = key.start_mark.line + 1
            _walk(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines)


def _clean_loc(loc: Loc) -> Loc:
    """Drop the discriminator tag pydantic puts after ``steps[i]`` (it is not a YAML key)."""
    if len(loc) > 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in _KINDS:
        return loc[:2] + loc[3:]
    return loc


def _pydantic_problem(source: str, lines: dict[Loc, int], error: Any) -> str:
    loc = _clean_loc(tuple(error["loc"]))
    found: Loc = ()
    for part in loc:
        if found + (part,) in lines:
            found = found + (part,)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}; remove it or fix its spelling"
    elif error["type"] == "missing":
        message = "required field missing; add it"
    return f"{source}:{lines.get(found, 1)}: {field_path(loc)}: {message}"
