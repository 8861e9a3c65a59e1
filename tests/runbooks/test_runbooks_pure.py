"""The small pure parts, table-tested: templates, matchers, expectations, inputs, the resume
rule and severities."""

from __future__ import annotations

import pytest

from kernel.matchers import parse_matcher
from runbooks.errors import InputError
from runbooks.expect import Expectation
from runbooks.inputs import resolve_inputs
from runbooks.model import ActionStep, CheckStep, Severity
from runbooks.spec import parse_runbook
from runbooks.steps import resume_rule
from runbooks.templating import malformed, references, substitute, whole_reference


@pytest.mark.parametrize(("value", "inputs", "expected"), [
    ("{{ inputs.n }}", {"n": 3}, 3),
    ("{{inputs.n}}", {"n": 3}, 3),
    ("x-{{ inputs.n }}-y", {"n": 3}, "x-3-y"),
    ("{{ inputs.on }}", {"on": True}, True),
    ("on={{ inputs.on }}", {"on": True}, "on=true"),
    (["{{ inputs.r }}", "b"], {"r": "syd"}, ["syd", "b"]),
    (7, {}, 7),
])
def test_substitution_keeps_the_type_of_a_whole_reference(value: object, inputs: dict[str, object],
                                                         expected: object) -> None:
    assert substitute(value, inputs) == expected  # type: ignore[arg-type]


def test_references_and_malformed_templates() -> None:
    text = "{{ inputs.a }} {{ b }} {{ inputs.c }} {{ inputs.d.e }}"
    assert references(text) == ["a", "c"]
    assert malformed(text) == ["{{ b }}", "{{ inputs.d.e }}"]
    assert whole_reference(" {{ inputs.a }} ") == "a" and whole_reference("x{{ inputs.a }}") is None


@pytest.mark.parametrize(("matcher", "labels", "hit"), [
    ('region="syd"', {"region": "syd"}, True),
    ('region="syd"', {"region": "sin"}, False),
    ('region!="syd"', {}, True),
    ('region=~"syd|sin"', {"region": "sin"}, True),
    ('region=~"sy"', {"region": "syd"}, False),  # anchored, as in Alertmanager
    ('region!~"syd|sin"', {"region": "ams"}, True),
    ('team=""', {}, True),
])
def test_label_matchers(matcher: str, labels: dict[str, str], hit: bool) -> None:
    assert parse_matcher(matcher).matches(labels) is hit


@pytest.mark.parametrize("bad", ["region=syd", 'region=~"("', '="x"', 'a == "b"'])
def test_bad_matchers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        parse_matcher(bad)


@pytest.mark.parametrize(("expect", "observed", "held"), [
    ({"equals": "down"}, "down", True), ({"equals": "down"}, "up", False),
    ({"equals": 0.0}, 0, True), ({"not_equals": 1}, 2, True),
    ({"one_of": ["a", "b"]}, "b", True), ({"below": 1}, 0.5, True), ({"below": 1}, 1, False),
    ({"at_most": 1}, 1, True), ({"above": 5}, None, False), ({"at_least": 1}, True, False),
    ({"below": 10, "above": 1}, 5, True), ({"below": 10, "above": 1}, 0, False),
    ({"matches": "pri.*"}, "primary", True), ({"equals": False}, False, True),
])
def test_expectations(expect: dict[str, object], observed: object, held: bool) -> None:
    ok, line = Expectation.model_validate(expect).evaluate(observed)
    assert ok is held and line.startswith("held" if held else "not held")


def test_an_expectation_limit_may_be_an_input() -> None:
    expect = Expectation.model_validate({"below": "{{ inputs.max }}"})
    assert expect.evaluate(1)[0] is False  # unresolved never holds
    assert expect.resolve({"max": 2}).evaluate(1) == (True, "held: observed 1; expected below 2")


RB = parse_runbook("""id: rb
title: t
severity: P3
owner: o
inputs:
  - {name: n, type: int, default: 3}
  - {name: flag, type: bool, default: false}
  - {name: ratio, type: float, default: 0.5}
steps:
  - {id: a, kind: action, action: chaos.pause}
""", "rb.yaml")


@pytest.mark.parametrize(("given", "expected"), [
    ({"region": "syd"}, {"region": "syd", "n": 3, "flag": False, "ratio": 0.5}),
    ({"region": "syd", "n": "7", "flag": "yes", "ratio": "1e-3"},
     {"region": "syd", "n": 7, "flag": True, "ratio": 0.001}),
])
def test_inputs_are_typed(given: dict[str, object], expected: dict[str, object]) -> None:
    assert resolve_inputs(RB, given) == expected


@pytest.mark.parametrize(("given", "problem"), [
    ({}, "input 'region' is required"),
    ({"region": "mars"}, "region 'mars' does not exist"),
    ({"region": "syd", "n": "x"}, "'x' is not an integer"),
    ({"region": "syd", "flag": "maybe"}, "'maybe' is not a bool"),
    ({"region": "syd", "ratio": "half"}, "'half' is not a number"),
    ({"region": "syd", "nn": 1}, "unknown input 'nn'; did you mean 'n'?"),
])
def test_bad_inputs_are_named(given: dict[str, object], problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        resolve_inputs(RB, given)


CHECK = CheckStep.model_validate({"id": "c", "kind": "check", "check": {
    "type": "probe", "probe": "x"}, "expect": {"equals": 1}})


def _action(name: str, skip_if: str | None = None) -> ActionStep:
    return ActionStep.model_validate({"id": "a", "kind": "action", "action": name,
                                      "skip_if": skip_if})


@pytest.mark.parametrize(("step", "again", "why"), [
    (CHECK, True, "a check only reads"),
    (_action("route.drain"), True, "route.drain sets a state"),
    (_action("db.failover", skip_if="c"), True, "check 'c' is asked first"),
    (_action("db.failover"), False, "interrupted; not repeated because db.failover is not "
                                    "idempotent"),
    (_action("incident.open"), False, "no skip_if check"),
    (_action("unknown.thing"), False, "not idempotent"),
])
def test_the_resume_rule(step: object, again: bool, why: str) -> None:
    ok, reason = resume_rule(step)
    assert ok is again and why in reason


@pytest.mark.parametrize(("severity", "pages", "pagerduty", "raised"), [
    ("P0", True, "critical", "P0"), ("P1", True, "critical", "P0"), ("P2", True, "error", "P1"),
    ("P3", False, "warning", "P2"), ("P4", False, "info", "P3"),
])
def test_severities(severity: str, pages: bool, pagerduty: str, raised: str) -> None:
    s = Severity(severity)
    assert (s.pages, s.pagerduty, s.raised().value) == (pages, pagerduty, raised)
