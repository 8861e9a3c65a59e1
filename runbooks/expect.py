"""What a check reads and what it must see: :class:`CheckSpec` and :class:`Expectation`.

Pure: an expectation evaluates an observed value into (held, one line saying why), the line
the journal keeps. Limits may name an input so a threshold is set per run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runbooks.templating import ArgValue, Scalar, substitute, whole_reference


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Number = float | str  # a number, or "{{ inputs.NAME }}" naming an int or float input
LIMITS = ("below", "above", "at_most", "at_least")


class Expectation(_Strict):
    """What a check's observed value must be; every condition given must hold. Limits may be
    an input (``below: "{{ inputs.max_lag_s }}"``) so a threshold can be set per run."""

    equals: Scalar | None = None
    not_equals: Scalar | None = None
    one_of: list[Scalar] | None = None
    below: Number | None = None
    above: Number | None = None
    at_most: Number | None = None
    at_least: Number | None = None
    matches: str | None = None

    @field_validator(*LIMITS)
    @classmethod
    def _number_or_input(cls, value: Number | None) -> Number | None:
        if isinstance(value, str) and whole_reference(value) is None:
            raise ValueError(f"{value!r} is neither a number nor {{{{ inputs.NAME }}}}")
        return value

    def resolve(self, inputs: Mapping[str, Scalar]) -> Expectation:
        """The expectation with input references replaced by the run's numbers."""
        update = {k: _number(substitute(v, inputs)) for k in LIMITS
                  if isinstance(v := getattr(self, k), str)}
        return self.model_copy(update=update) if update else self

    @model_validator(mode="after")
    def _some(self) -> Expectation:
        if not self.model_fields_set:
            raise ValueError("give at least one condition (equals, below, at_least, ...)")
        if self.matches is not None:
            re.compile(self.matches)
        return self

    def describe(self) -> str:
        return " and ".join(f"{k.replace('_', ' ')} {literal(getattr(self, k))}"
                            for k in type(self).model_fields if k in self.model_fields_set)

    def evaluate(self, observed: object) -> tuple[bool, str]:
        """(held, one line saying what was observed against what was expected)."""
        failed = [k for k in type(self).model_fields
                  if k in self.model_fields_set and not self._holds(k, observed)]
        verdict = "held" if not failed else "not held"
        return not failed, f"{verdict}: observed {literal(observed)}; expected {self.describe()}"

    def _holds(self, key: str, observed: object) -> bool:
        want = getattr(self, key)
        if key == "equals":
            return bool(observed == want)
        if key == "not_equals":
            return bool(observed != want)
        if key == "one_of":
            return bool(observed in want)
        if key == "matches":
            return re.fullmatch(want, str(observed)) is not None
        if (isinstance(observed, bool) or not isinstance(observed, int | float)
                or isinstance(want, str)):
            return False
        limit = float(want)
        return {"below": observed < limit, "above": observed > limit,
                "at_most": observed <= limit, "at_least": observed >= limit}[key]


class CheckSpec(_Strict):
    """A read-only observation: a named probe, an HTTP status, a SQL scalar or a PromQL scalar."""

    type: Literal["probe", "http", "sql", "promql"]
    probe: str = ""
    args: dict[str, ArgValue] = Field(default_factory=dict)
    method: Literal["GET", "HEAD"] = "GET"
    url: str = ""
    database: str = ""
    query: str = ""

    @model_validator(mode="after")
    def _fields_for_type(self) -> CheckSpec:
        need = {"probe": ("probe",), "http": ("url",), "sql": ("database", "query"),
                "promql": ("query",)}[self.type]
        missing = [f for f in need if not getattr(self, f)]
        if missing:
            raise ValueError(f"a {self.type} check needs {' and '.join(missing)}")
        return self

    def target(self) -> str:
        """What the check reads, in one line (dry runs and rendered pages show it)."""
        if self.type == "probe":
            args = ", ".join(f"{k}={v}" for k, v in self.args.items())
            return f"probe {self.probe}({args})"
        if self.type == "http":
            return f"HTTP {self.method} {self.url}"
        if self.type == "sql":
            return f"SQL on {self.database}: {self.query.strip()}"
        return f"PromQL: {self.query.strip()}"


def _number(value: ArgValue) -> Number:
    """A resolved limit as a float; a placeholder (a rendered page's ``<max_lag_s>``) stays."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def literal(value: object) -> str:
    """A value as YAML would show it: ``true``, ``0.001``, ``'down'``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str) and (value.startswith("{{") or value.startswith("<")):
        return value  # a reference or a placeholder, shown as written
    return repr(value)
