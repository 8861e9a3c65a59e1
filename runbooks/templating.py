"""``{{ inputs.NAME }}`` substitution: the only template a runbook has (no Jinja, no logic).

Why so small: a runbook is audit evidence, so what it will do must be readable from the file.
A value that is exactly one reference keeps the input's type (``"{{ inputs.replicas }}"``
becomes the integer 3); a reference inside longer text is formatted into it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

Scalar = str | int | float | bool
ArgValue = Scalar | list[Scalar]

_ANY = re.compile(r"\{\{(.*?)\}\}")
_INPUT = re.compile(r"^\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*$")


def references(text: str) -> list[str]:
    """The input names ``text`` refers to, in order (malformed references excluded)."""
    return [m.group(1) for m in (_INPUT.match(e) for e in _ANY.findall(text)) if m]


def malformed(text: str) -> list[str]:
    """Every ``{{ ... }}`` in ``text`` that is not ``{{ inputs.NAME }}``, as written."""
    return ["{{" + e + "}}" for e in _ANY.findall(text) if not _INPUT.match(e)]


def value_references(value: ArgValue) -> list[str]:
    if isinstance(value, list):
        return [name for item in value for name in value_references(item)]
    return references(value) if isinstance(value, str) else []


def whole_reference(value: ArgValue) -> str | None:
    """The input name when ``value`` is exactly one reference (its type then carries over)."""
    if not isinstance(value, str):
        return None
    found = _ANY.fullmatch(value.strip())
    match = _INPUT.match(found.group(1)) if found else None
    return match.group(1) if match else None


def substitute(value: ArgValue, inputs: Mapping[str, Scalar]) -> ArgValue:
    """``value`` with every reference replaced; a missing input raises ``KeyError``."""
    if isinstance(value, list):
        return [_scalar(substitute(item, inputs)) for item in value]
    if not isinstance(value, str):
        return value
    whole = whole_reference(value)
    if whole is not None:
        return inputs[whole]
    return _ANY.sub(lambda m: _text(inputs[_name(m.group(1))]), value)


def substitute_text(text: str, inputs: Mapping[str, Scalar]) -> str:
    """Like :func:`substitute` but always text (queries, URLs, instructions)."""
    return _ANY.sub(lambda m: _text(inputs[_name(m.group(1))]), text)


def _name(expr: str) -> str:
    match = _INPUT.match(expr)
    if match is None:  # validation refuses these at load; reaching here is a bug
        raise KeyError(expr.strip())
    return match.group(1)


def _text(value: Scalar) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _scalar(value: ArgValue) -> Scalar:
    if isinstance(value, list):
        raise TypeError("a list argument cannot hold a list")
    return value
