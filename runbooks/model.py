"""The typed runbook: what a YAML file (see :mod:`runbooks.spec`) becomes once loaded.

Models are frozen pydantic v2 models with ``extra="forbid"`` so a typo is an error, never a
silently ignored field. The step kinds form a discriminated union on ``kind``. Checks and
expectations live in :mod:`runbooks.expect`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from kernel.matchers import Matcher, parse_matcher
from runbooks.expect import CheckSpec, Expectation
from runbooks.templating import ArgValue, Scalar

STEP_ID = r"^[a-z0-9][a-z0-9_-]*$"
NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Severity(StrEnum):
    """P0 (whole service down) to P4 (informational); P0-P2 page a person, P3-P4 file a ticket."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def pages(self) -> bool:
        return self in (Severity.P0, Severity.P1, Severity.P2)

    @property
    def pagerduty(self) -> str:
        """PagerDuty Events v2 ``payload.severity``."""
        return {"P0": "critical", "P1": "critical", "P2": "error", "P3": "warning"}.get(
            self.value, "info")

    def raised(self) -> Severity:
        """One level more urgent (what an escalation asks for), P0 staying P0."""
        return Severity(f"P{max(0, int(self.value[1]) - 1)}")


class InputType(StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    REGION = "region"


class StepKind(StrEnum):
    CHECK = "check"
    VERIFY = "verify"
    ACTION = "action"
    MANUAL = "manual"
    APPROVAL = "approval"
    ROLLBACK = "rollback"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    name: str = Field(pattern=NAME)
    type: InputType = InputType.STRING
    required: bool = False
    default: Scalar | None = None
    description: str = ""


REGION_INPUT = InputSpec(name="region", type=InputType.REGION, required=True,
                         description="The region the run acts on.")


class Trigger(_Strict):
    """Either an Alertmanager alert (name + label matchers) or a reconciler verdict."""

    alert: str | None = Field(default=None, pattern=NAME)
    matchers: list[str] = Field(default_factory=list)
    verdict: str | None = Field(default=None, pattern=NAME)

    @field_validator("matchers")
    @classmethod
    def _parse(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_matcher(text)  # ValueError names the bad matcher
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Trigger:
        if (self.alert is None) == (self.verdict is None):
            raise ValueError("give exactly one of alert: (with optional matchers) or verdict:")
        if self.verdict is not None and self.matchers:
            raise ValueError("matchers apply to alerts only; drop them from a verdict trigger")
        return self

    def parsed(self) -> tuple[Matcher, ...]:
        return tuple(parse_matcher(m) for m in self.matchers)

    def matches(self, alert: str, labels: Mapping[str, str]) -> bool:
        return alert == self.alert and all(m.matches(labels) for m in self.parsed())


class _StepBase(_Strict):
    id: str = Field(pattern=STEP_ID)
    title: str = ""
    timeout_s: float = Field(default=60.0, gt=0)
    retries: int = Field(default=0, ge=0, le=10)
    retry_delay_s: float = Field(default=5.0, ge=0)


class CheckStep(_StepBase):
    kind: Literal["check"]
    check: CheckSpec
    expect: Expectation
    on_fail: Literal["abort", "continue"] = "abort"


class VerifyStep(_StepBase):
    kind: Literal["verify"]
    check: CheckSpec
    expect: Expectation
    deadline_s: float = Field(gt=0)
    interval_s: float = Field(default=10.0, gt=0)


class ActionStep(_StepBase):
    kind: Literal["action"]
    action: str
    args: dict[str, ArgValue] = Field(default_factory=dict)
    skip_if: str | None = None


class ManualStep(_StepBase):
    kind: Literal["manual"]
    instruction: str
    approvers: list[str] = Field(min_length=1)
    deadline_s: float = Field(gt=0)


class ApprovalStep(_StepBase):
    kind: Literal["approval"]
    prompt: str
    approvers: list[str] = Field(min_length=1)
    deadline_s: float = Field(gt=0)


class RollbackStep(_StepBase):
    """Armed once the run passes it; runs if a later step (up to ``until``, when given) fails."""

    kind: Literal["rollback"]
    action: str
    args: dict[str, ArgValue] = Field(default_factory=dict)
    until: str | None = None


Step = Annotated[CheckStep | VerifyStep | ActionStep | ManualStep | ApprovalStep | RollbackStep,
                 Field(discriminator="kind")]
GateStep = ManualStep | ApprovalStep
CallStep = ActionStep | RollbackStep
ProbeStep = CheckStep | VerifyStep


class Runbook(_Strict):
    id: str = Field(pattern=STEP_ID)
    title: str
    description: str = ""
    severity: Severity
    owner: str
    triggers: list[Trigger] = Field(default_factory=list)
    controls: list[str] = Field(default_factory=list)
    inputs: list[InputSpec] = Field(default_factory=list)
    deadline_s: float = Field(default=3600.0, gt=0)
    steps: list[Step] = Field(min_length=1)
    _source: str = PrivateAttr(default="<memory>")
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _region_always(cls, data: Any) -> Any:
        """``region`` is an input of every runbook; declare it only to describe it."""
        if isinstance(data, dict):
            inputs = data.get("inputs") or []
            if isinstance(inputs, list) and not any(
                    _name(i) == "region" for i in inputs if isinstance(i, dict | InputSpec)):
                # appended, so the declared inputs keep their index (errors name YAML lines)
                return {**data, "inputs": [*inputs, REGION_INPUT]}
        return data

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def input(self, name: str) -> InputSpec | None:
        return next((i for i in self.inputs if i.name == name), None)

    def where(self, loc: tuple[str | int, ...]) -> str:
        """``FILE:LINE`` of the deepest part of ``loc`` present in the source file."""
        found: tuple[str | int, ...] = ()
        for part in loc:
            if found + (part,) in self._lines:
                found = found + (part,)
        return f"{self._source}:{self._lines.get(found, 1)}"

    def problem(self, loc: tuple[str | int, ...], message: str) -> str:
        """One problem line, ``FILE:LINE: FIELD: message``, as every validation error reads."""
        return f"{self.where(loc)}: {field_path(loc)}: {message}"

    def with_source(self, source: str, lines: dict[tuple[str | int, ...], int]) -> Runbook:
        self._source, self._lines = source, dict(lines)
        return self

    @property
    def source(self) -> str:
        return self._source


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("steps", 3, "action")`` as ``steps[3].action`` (what people read in an error)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _name(item: InputSpec | dict[str, Any]) -> object:
    return item.name if isinstance(item, InputSpec) else item.get("name")

