"""Toxic input validation in Go's order, defaults and update merging (spec 1.2, E8, E10)."""

from __future__ import annotations

import pytest

from chaos.errors import ApiError
from chaos.toxic_spec import ToxicSpec, apply_update, parse_new_toxic


def error_of(body: object, existing: set[str] | None = None) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        parse_new_toxic(body, existing or set())
    return caught.value.status, caught.value.message


def test_defaults() -> None:
    spec = parse_new_toxic({"type": "latency"}, set())
    assert spec == ToxicSpec(
        "latency_downstream", "latency", "downstream", 1.0, {"latency": 0, "jitter": 0}
    )
    assert spec.document()["toxicity"] == 1


def test_stream_keeps_spelling_and_names_by_it() -> None:
    spec = parse_new_toxic({"TYPE": "noop", "Stream": "UPSTREAM"}, set())
    assert (spec.name, spec.stream, spec.direction) == ("noop_UPSTREAM", "UPSTREAM", "upstream")


@pytest.mark.parametrize(
    ("body", "existing", "expected"),
    [
        # stream is checked before type, type before uniqueness, uniqueness before attributes
        (
            {"type": "bogus", "stream": "sideways"},
            set(),
            (400, "stream was invalid, can be either upstream or downstream"),
        ),
        (
            {"type": "noop", "stream": ""},
            set(),
            (400, "stream was invalid, can be either upstream or downstream"),
        ),
        ({"type": "down"}, set(), (400, "invalid toxic type")),
        ({}, set(), (400, "invalid toxic type")),
        (
            {"name": "x", "type": "latency", "attributes": {"latency": "a"}},
            {"x"},
            (409, "toxic already exists"),
        ),
    ],
)
def test_validation_order(body: object, existing: set[str], expected: tuple[int, str]) -> None:
    assert error_of(body, existing) == expected


@pytest.mark.parametrize(
    "attributes",
    [{"latency": "100"}, {"latency": 1.5}, {"latency": True}, {"latency": [1]}, {"latency": 2**63}],
)
def test_bad_attribute_types(attributes: dict[str, object]) -> None:
    status, message = error_of({"type": "latency", "attributes": attributes})
    assert status == 400
    assert message.startswith("bad request body: json: cannot unmarshal")
    assert "LatencyToxic.latency" in message


def test_attributes_accept_integral_floats_ignore_unknown_and_null() -> None:
    body = {"type": "slicer", "attributes": {"average_size": 100.0, "bogus": "x", "delay": None}}
    assert parse_new_toxic(body, set()).attributes == {
        "average_size": 100,
        "size_variation": 0,
        "delay": 0,
    }


def test_negative_bandwidth_rate_is_refused() -> None:
    status, message = error_of({"type": "bandwidth", "attributes": {"rate": -1}})
    assert status == 400 and "rate" in message


def test_bad_top_level_types() -> None:
    assert error_of([])[0] == 400
    assert error_of({"type": "noop", "toxicity": "half"})[0] == 400


def test_update_merges_attributes_and_keeps_toxicity() -> None:
    current = parse_new_toxic(
        {"type": "latency", "toxicity": 0.5, "attributes": {"latency": 100, "jitter": 10}}, set()
    )
    updated = apply_update(current, {"attributes": {"latency": 1000}, "type": "noop", "name": "z"})
    assert updated.attributes == {"latency": 1000, "jitter": 10}
    assert (updated.toxicity, updated.type, updated.name) == (0.5, "latency", current.name)
    assert apply_update(current, {"toxicity": 1}).toxicity == 1.0
