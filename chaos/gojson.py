"""JSON the way Go's encoding/json reads and writes it (spec 1.1), as pure functions.

Clients do not depend on byte fidelity, but diff-based comparisons with a real Toxiproxy do:
compact separators, ``<>&`` escaped, float32 values in their shortest form, the first JSON
value of a body read and the rest ignored, object keys matched case-insensitively.
"""

from __future__ import annotations

import json
import struct

from chaos.errors import ApiError, bad_body

_DECODER = json.JSONDecoder()
_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))
_ESCAPES_LS = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def encode(value: object) -> bytes:
    """Compact JSON with Go's HTML-safe escaping; no trailing newline."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _ESCAPES + _ESCAPES_LS:
        if raw in text:
            text = text.replace(raw, escaped)
    return text.encode()


def error_body(status: int, message: str, **extra: object) -> bytes:
    """The body ``http.Error`` writes: the JSON object and a newline."""
    return encode({"error": message, "status": status, **extra}) + b"\n"


def decode_first(body: bytes) -> object:
    """The first JSON value of ``body``; an empty body is Go's ``EOF`` error (400)."""
    text = body.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise bad_body("EOF")
    try:
        value, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise bad_body(f"invalid JSON: {exc.msg} at character {exc.pos}") from exc
    return value


def fold_keys(obj: dict[str, object]) -> dict[str, object]:
    """Keys lower-cased, as Go matches struct fields; on a clash the last key wins."""
    return {str(key).lower(): value for key, value in obj.items()}


def json_kind(value: object) -> str:
    """The JSON type name Go puts in its ``cannot unmarshal X`` messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}" if isinstance(value, float) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def type_error(value: object, where: str, go_type: str) -> ApiError:
    return bad_body(f"json: cannot unmarshal {json_kind(value)} into {where} of type {go_type}")


def float32(value: float) -> int | float:
    """``value`` stored as a Go float32 and formatted as Go prints it: 1 not 1.0, 0.2 not 0.2000…"""
    (f32,) = struct.unpack("<f", struct.pack("<f", value))
    if f32.is_integer() and abs(f32) < 1e21:
        return int(f32)
    for digits in range(1, 10):
        candidate = float(f"{f32:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", candidate))[0] == f32:
            return candidate
    return float(f32)
