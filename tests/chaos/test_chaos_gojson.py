"""Go-compatible JSON encoding and decoding."""

from __future__ import annotations

import pytest

from chaos import gojson
from chaos.errors import ApiError


def test_encode_is_compact_and_html_escaped() -> None:
    assert gojson.encode({"a": "<b>&", "n": [1, 2]}) == b'{"a":"\\u003cb\\u003e\\u0026","n":[1,2]}'


def test_error_body_has_trailing_newline() -> None:
    assert (
        gojson.error_body(404, "proxy not found") == b'{"error":"proxy not found","status":404}\n'
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(1.0, 1), (0.2, 0.2), (0.5, 0.5), (2.5, 2.5), (-1.0, -1), (0.1, 0.1)]
)
def test_float32_formatting(value: float, expected: float) -> None:
    result = gojson.float32(value)
    assert result == expected and type(result) is type(expected)


def test_decode_first_value_only() -> None:
    assert gojson.decode_first(b'  {"a":1} trailing') == {"a": 1}


@pytest.mark.parametrize(
    ("body", "message"), [(b"", "bad request body: EOF"), (b"  \n", "bad request body: EOF")]
)
def test_decode_empty_is_eof(body: bytes, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        gojson.decode_first(body)
    assert (caught.value.status, caught.value.message) == (400, message)


def test_decode_invalid() -> None:
    with pytest.raises(ApiError) as caught:
        gojson.decode_first(b"{nope")
    assert caught.value.message.startswith("bad request body: invalid JSON")


def test_fold_keys_last_wins() -> None:
    assert gojson.fold_keys({"Name": "a", "NAME": "b", "x": 1}) == {"name": "b", "x": 1}
