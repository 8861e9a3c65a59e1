"""Fakes for runbook tests: scripted check runners and actuators, a recording escalator, and
a helper that builds an executor over a shared in-memory journal (a fresh executor over the
same journal is how a crash and a restart are simulated)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry.trace import Tracer

from kernel.clock import FakeClock
from kernel.locks import InMemoryRegionLock
from runbooks.errors import EscalationError
from runbooks.executor import Executor
from runbooks.expect import CheckSpec
from runbooks.journal import InMemoryJournal
from runbooks.model import Runbook
from runbooks.ports import CallContext, CheckResult, Escalation, Runners, RunObserver
from runbooks.spec import parse_runbook
from runbooks.templating import ArgValue


class Crash(BaseException):
    """Raised inside a step to stop the executor dead, as a kill would (never caught)."""


HANG = object()  # a scripted result: wait forever (until a timeout cancels)


@dataclass
class Probes:
    """``type: probe`` runner: each probe name answers from a script, the last value repeats."""

    script: dict[str, list[object]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, ArgValue]]] = field(default_factory=list)

    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        self.seen.append((check.probe, dict(check.args)))
        node = check.args.get("node")
        values = self.script[f"{check.probe}:{node}" if node else check.probe]
        value = values.pop(0) if len(values) > 1 else values[0]
        return await _play(value)


@dataclass
class Queries:
    """``promql``/``sql``/``http`` runner answering by query text (or URL)."""

    script: dict[str, list[object]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    async def check(self, check: CheckSpec, ctx: CallContext) -> CheckResult:
        key = check.query or check.url
        self.seen.append(key)
        values = self.script[key]
        value = values.pop(0) if len(values) > 1 else values[0]
        return await _play(value)


async def _play(value: object) -> CheckResult:
    if value is HANG:
        await asyncio.Event().wait()
    if isinstance(value, BaseException):
        raise value
    assert value is None or isinstance(value, str | int | float | bool)
    return CheckResult(value)


@dataclass
class Actuator:
    """Records every call; ``script`` gives each call's behaviour (last one repeats)."""

    name: str
    calls: list[dict[str, ArgValue]]
    order: list[str]
    script: list[object] = field(default_factory=lambda: ["ok"])

    async def call(self, args: Mapping[str, ArgValue], ctx: CallContext) -> str:
        self.calls.append(dict(args))
        self.order.append(self.name)
        value = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if value is HANG:
            await asyncio.Event().wait()
        if isinstance(value, BaseException):
            raise value
        return f"{self.name} done"


@dataclass
class Escalations:
    sent: list[Escalation] = field(default_factory=list)
    fail_next: int = 0

    async def escalate(self, escalation: Escalation) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise EscalationError("pager unreachable")
        self.sent.append(escalation)


@dataclass
class Rig:
    """Everything an executor test needs; ``executor()`` builds a fresh one each call."""

    runbooks: dict[str, Runbook]
    clock: FakeClock = field(default_factory=FakeClock)
    journal: InMemoryJournal = field(default_factory=InMemoryJournal)
    probes: Probes = field(default_factory=Probes)
    queries: Queries = field(default_factory=Queries)
    escalations: Escalations = field(default_factory=Escalations)
    calls: dict[str, list[dict[str, ArgValue]]] = field(default_factory=dict)
    scripts: dict[str, list[object]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    lock: InMemoryRegionLock | None = None
    observer: RunObserver | None = None
    tracer: Tracer | None = None

    def __post_init__(self) -> None:
        self.lock = InMemoryRegionLock(self.clock.time)

    def actuators(self) -> dict[str, Actuator]:
        from runbooks.actuators import ACTUATORS

        return {name: Actuator(name, self.calls.setdefault(name, []), self.order,
                               self.scripts.setdefault(name, ["ok"])) for name in ACTUATORS}

    def executor(self) -> Executor:
        runners = Runners(checks={"probe": self.probes, "promql": self.queries,
                                  "sql": self.queries, "http": self.queries},
                          actuators=self.actuators())
        return Executor(self.runbooks, self.journal, runners, self.escalations,
                        clock=self.clock, lock=self.lock, observer=self.observer,
                        tracer=self.tracer)

    def called(self, name: str) -> list[dict[str, ArgValue]]:
        return self.calls.get(name, [])


def rig(*texts: str) -> Rig:
    books = [parse_runbook(t, f"{i}.yaml") for i, t in enumerate(texts)]
    return Rig({b.id: b for b in books})


def statuses(steps: Sequence[object]) -> dict[str, str]:
    return {s.step_id: str(s.status) for s in steps}  # type: ignore[attr-defined]



def gated_runbook(approver: str) -> str:
    """A check, an approval gate ``approver`` may open, then a drain of the region."""
    return f"""
id: gated
title: Gated
severity: P3
owner: sre
steps:
  - id: look
    kind: check
    check: {{type: probe, probe: region.health, args: {{region: "{{{{ inputs.region }}}}"}}}}
    expect: {{equals: healthy}}
  - id: ok
    kind: approval
    prompt: go on?
    approvers: [{approver}]
    deadline_s: 600
  - id: drain
    kind: action
    action: route.drain
    args: {{region: "{{{{ inputs.region }}}}"}}
"""
