"""A run's inputs: what was given, checked against the declared inputs and typed. Pure.

Values arrive as text from the CLI and as labels from an alert, so each is coerced to its
declared type here, once, before anything runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from kernel.regions import REGION_CODES
from runbooks.actuators import suggest
from runbooks.errors import InputError
from runbooks.model import InputSpec, InputType, Runbook
from runbooks.templating import Scalar

_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def resolve_inputs(runbook: Runbook, given: Mapping[str, object],
                   regions: Collection[str] = REGION_CODES) -> dict[str, Scalar]:
    """Every declared input with its typed value; :class:`InputError` lists every problem."""
    problems = [f"unknown input {name!r}{suggest(name, [i.name for i in runbook.inputs])}; "
                f"{runbook.id} takes {', '.join(i.name for i in runbook.inputs)}"
                for name in given if runbook.input(name) is None]
    out: dict[str, Scalar] = {}
    for spec in runbook.inputs:
        raw = given.get(spec.name, spec.default)
        if raw is None:
            problems.append(f"input {spec.name!r} is required; pass it "
                            f"(e.g. --input {spec.name}=...)")
            continue
        try:
            out[spec.name] = coerce(spec, raw, regions)
        except ValueError as exc:
            problems.append(f"input {spec.name!r}: {exc}")
    if problems:
        raise InputError(f"bad inputs for runbook {runbook.id}: " + "; ".join(problems))
    return out


def coerce(spec: InputSpec, raw: object, regions: Collection[str]) -> Scalar:
    """``raw`` as the input's type, or ``ValueError`` saying what was expected."""
    text = str(raw).strip()
    if spec.type is InputType.REGION:
        if text not in regions:
            raise ValueError(f"region {text!r} does not exist; use one of {', '.join(regions)}")
        return text
    if spec.type is InputType.BOOL:
        if isinstance(raw, bool):
            return raw
        if text.lower() not in _TRUE | _FALSE:
            raise ValueError(f"{text!r} is not a bool; use true or false")
        return text.lower() in _TRUE
    if spec.type is InputType.INT:
        if isinstance(raw, bool) or not text.lstrip("-").isdigit():
            raise ValueError(f"{text!r} is not an integer")
        return int(text)
    if spec.type is InputType.FLOAT:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    return str(raw)
