"""Loading runbook files: every problem names FILE:LINE: FIELD and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.errors import RunbookSpecError
from runbooks.model import InputType
from runbooks.spec import load_library, load_runbook, parse_runbook

HEAD = """id: rb
title: A runbook
severity: P2
owner: sre
"""  # 4 lines: a step list starting at line 5 has its first item on line 6

ACTION = """steps:
  - id: drain
    kind: action
    action: route.drain
    args: {region: "{{ inputs.region }}"}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(RunbookSpecError) as caught:
        parse_runbook(text, "rb.yaml")
    return caught.value.problems


def test_a_minimal_runbook_loads_with_region_always_an_input() -> None:
    rb = parse_runbook(HEAD + ACTION, "rb.yaml")
    assert [i.name for i in rb.inputs] == ["region"] and rb.inputs[0].type is InputType.REGION
    assert rb.where(("steps", 0, "action")) == "rb.yaml:8"
    assert rb.source == "rb.yaml"


@pytest.mark.parametrize(("text", "expected"), [
    (HEAD + ACTION.replace("    action: route.drain\n",
                           "    action: route.drain\n    colour: red\n"),
     "rb.yaml:9: steps[0].colour: unknown field 'colour'; remove it or fix its spelling"),
    (HEAD + ACTION.replace("kind: action", "kind: acton"),
     "rb.yaml:6: steps[0]: Input tag 'acton' found using 'kind' does not match"),
    (HEAD + ACTION.replace("    action: route.drain\n", ""),
     "rb.yaml:6: steps[0].action: required field missing; add it"),
    (HEAD.replace("severity: P2", "severity: P7") + ACTION, "rb.yaml:3: severity: Input should be"),
    (HEAD + "triggers:\n  - alert: X\n    matchers: ['region=syd']\n" + ACTION,
     "rb.yaml:7: triggers[0].matchers: bad label matcher 'region=syd'"),
    (HEAD + "triggers:\n  - alert: X\n    verdict: y\n" + ACTION,
     "rb.yaml:6: triggers[0]: give exactly one of alert: (with optional matchers) or verdict:"),
    (HEAD + ACTION.replace('"{{ inputs.region }}"', '"{{ inputs.regoin }}"'),
     "rb.yaml:9: steps[0].args.region: unknown input 'regoin'; did you mean 'region'?"),
    (HEAD + ACTION.replace('"{{ inputs.region }}"', '"{{ region }}"'),
     "rb.yaml:9: steps[0].args.region: {{ region }} is not a reference"),
    (HEAD + ACTION + ACTION.replace("steps:\n", ""),
     "rb.yaml:10: steps[1].id: duplicate step id 'drain' (also steps[0])"),
    (HEAD + ACTION + "    skip_if: nope\n",
     "rb.yaml:10: steps[0].skip_if: unknown step 'nope'"),
    (HEAD + ACTION + "    skip_if: drain\n",
     "steps[0].skip_if: step 'drain' comes after this action; skip_if names a PRECEDING check"),
    (HEAD + ACTION + ACTION.replace("steps:\n", "").replace("id: drain", "id: again")
     + "    skip_if: drain\n", "steps[1].skip_if: 'drain' is a action step; skip_if names a check"),
    (HEAD + "steps:\n  - id: done\n    kind: check\n    check: {type: probe, probe: x}\n"
     "    expect: {equals: 1}\n" + ACTION.replace("steps:\n", "") + "    skip_if: done\n",
     "steps[1].skip_if: check 'done' aborts the run when it does not hold"),
    (HEAD + ACTION + "  - id: undo\n    kind: rollback\n    action: route.restore\n",
     "rb.yaml:10: steps[1]: a rollback runs when a LATER step fails"),
    (HEAD + ACTION.replace("steps:\n", "steps:\n  - id: undo\n    kind: rollback\n"
                           "    action: route.restore\n    until: nowhere\n"),
     "rb.yaml:9: steps[0].until: 'nowhere' is not a step"),
    (HEAD + "inputs:\n  - name: n\n    type: int\n" + ACTION,
     "rb.yaml:6: inputs[0]: optional input 'n' needs a default"),
    (HEAD + "inputs:\n  - name: region\n    type: string\n    required: true\n" + ACTION,
     "rb.yaml:7: inputs[0].type: the region input is always of type region"),
    (HEAD + "steps:\n  - id: c\n    kind: check\n    check: {type: sql, query: 'select 1'}\n"
     "    expect: {equals: 1}\n", "rb.yaml:8: steps[0].check: a sql check needs database"),
    (HEAD + "steps:\n  - id: c\n    kind: check\n    check: {type: probe, probe: x}\n"
     "    expect: {}\n", "rb.yaml:9: steps[0].expect: give at least one condition"),
    (HEAD + "steps:\n  - id: c\n    kind: check\n    check: {type: probe, probe: x}\n"
     "    expect: {below: lots}\n",
     "rb.yaml:9: steps[0].expect.below: 'lots' is neither a number nor {{ inputs.NAME }}"),
    (HEAD + "steps:\n  - id: c\n    kind: check\n    check: {type: probe, probe: x}\n"
     "    expect: {below: '{{ inputs.region }}'}\n",
     "rb.yaml:9: steps[0].expect.below: input 'region' is a region; a limit needs an int"),
    (HEAD + "deadline_s: 60\nsteps:\n  - id: ok\n    kind: approval\n    prompt: go?\n"
     "    approvers: [sre]\n    deadline_s: 600\n",
     "rb.yaml:11: steps[0].deadline_s: 600 s is past the run's deadline (60 s); shorten it"),
    ("id: rb\n  title: [\n", "rb.yaml:2: <yaml>: not valid YAML"),
    ("- just\n- a list\n", "rb.yaml:1: <root>: a runbook is a YAML mapping"),
])
def test_problems_name_file_line_and_field(text: str, expected: str) -> None:
    found = problems_of(text)
    assert any(p.startswith(expected) or expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    text = HEAD + ACTION.replace('"{{ inputs.region }}"', '"{{ inputs.x }}"') + ACTION.replace(
        "steps:\n", "")
    found = problems_of(text)
    assert len(found) == 2
    assert {"unknown input 'x'" in p for p in found} == {"duplicate" in p for p in found} == {
        True, False}


def test_the_library_refuses_two_files_with_one_id(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(HEAD + ACTION)
    with pytest.raises(RunbookSpecError, match=r"b.yaml:1: id: id 'rb' is also used by .*a.yaml"):
        load_library(tmp_path)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RunbookSpecError, match=r"missing.yaml: cannot read"):
        load_runbook(tmp_path / "missing.yaml")
