"""What a toxic is (type, stream, toxicity, attributes) and how API input becomes one.

Spec 1.2, E8 and E10.

Pure: no sockets, no clock. Validation follows the Go server's order so the same error wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from chaos import errors, gojson

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class ToxicKind:
    """One toxic type: its attribute names in Go declaration order and the Go struct name."""

    name: str
    go_struct: str
    attributes: tuple[str, ...]
    go_int: str = "int64"


KINDS: dict[str, ToxicKind] = {
    kind.name: kind
    for kind in (
        ToxicKind("latency", "LatencyToxic", ("latency", "jitter")),
        ToxicKind("bandwidth", "BandwidthToxic", ("rate",)),
        ToxicKind("slow_close", "SlowCloseToxic", ("delay",)),
        ToxicKind("timeout", "TimeoutToxic", ("timeout",)),
        ToxicKind("reset_peer", "ResetToxic", ("timeout",)),
        ToxicKind("slicer", "SlicerToxic", ("average_size", "size_variation", "delay"), "int"),
        ToxicKind("limit_data", "LimitDataToxic", ("bytes",)),
        ToxicKind("noop", "NoopToxic", ()),
    )
}


@dataclass(frozen=True)
class ToxicSpec:
    """A toxic as stored by the API. ``stream`` keeps the caller's spelling (``"UPSTREAM"``)."""

    name: str
    type: str
    stream: str
    toxicity: float = 1.0
    attributes: dict[str, int] = field(default_factory=dict)

    @property
    def direction(self) -> str:
        return self.stream.lower()

    def attr(self, name: str) -> int:
        return self.attributes.get(name, 0)

    def document(self) -> dict[str, object]:
        """The Toxic object of the API, fields in Go's order."""
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": gojson.float32(self.toxicity),
        }


def parse_new_toxic(body: object, existing_names: set[str]) -> ToxicSpec:
    """Validate an E8 body in Go's order: decode, stream, default name, type, uniqueness, attrs."""
    if not isinstance(body, dict):
        raise gojson.type_error(body, "Go value", "toxics.ToxicWrapper")
    fields = gojson.fold_keys(body)
    stream = _optional_str(fields, "stream", DOWNSTREAM)
    toxicity = _optional_number(fields, "toxicity", 1.0)
    name = _optional_str(fields, "name", "")
    type_ = _optional_str(fields, "type", "")
    if stream.lower() not in STREAMS:
        raise errors.ApiError(400, errors.INVALID_STREAM)
    if not name:
        name = f"{type_}_{stream}"
    kind = KINDS.get(type_)
    if kind is None:
        raise errors.ApiError(400, errors.INVALID_TOXIC_TYPE)
    if name in existing_names:
        raise errors.ApiError(409, errors.TOXIC_EXISTS)
    zeros = dict.fromkeys(kind.attributes, 0)
    attributes = decode_attributes(kind, fields.get("attributes"), zeros)
    return ToxicSpec(name, type_, stream, toxicity, attributes)


def apply_update(current: ToxicSpec, body: object) -> ToxicSpec:
    """E10: merge ``attributes`` into the current ones; replace ``toxicity`` only if given."""
    if not isinstance(body, dict):
        raise gojson.type_error(body, "Go value", "toxics.ToxicWrapper")
    fields = gojson.fold_keys(body)
    toxicity = _optional_number(fields, "toxicity", current.toxicity)
    kind = KINDS[current.type]
    attributes = decode_attributes(kind, fields.get("attributes"), current.attributes)
    return replace(current, toxicity=toxicity, attributes=attributes)


def decode_attributes(kind: ToxicKind, raw: object, base: dict[str, int]) -> dict[str, int]:
    """Overlay ``raw`` on ``base``: unknown keys ignored, null keeps the value, ints only."""
    if raw is None:
        return dict(base)
    if not isinstance(raw, dict):
        raise gojson.type_error(raw, "Go value", f"toxics.{kind.go_struct}")
    result = dict(base)
    for key, value in gojson.fold_keys(raw).items():
        if key not in result or value is None:
            continue
        result[key] = _integer(value, f"Go struct field {kind.go_struct}.{key}", kind.go_int)
    if kind.name == "bandwidth" and result["rate"] < 0:
        # Go panics on a negative rate; we refuse it (spec 1.8; see docs/chaos.md).
        raise errors.bad_body(f"bandwidth rate {result['rate']} is negative; use a rate >= 0 KB/s")
    return result


def _integer(value: object, where: str, go_type: str) -> int:
    # Integral floats (100.0) are accepted: a harmless superset of Go (spec 1.8).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise gojson.type_error(value, where, go_type)
    if isinstance(value, float) and not value.is_integer():
        raise gojson.type_error(value, where, go_type)
    number = int(value)
    if not INT64[0] <= number <= INT64[1]:
        raise gojson.type_error(value, where, go_type)
    return number


def _optional_str(fields: dict[str, object], key: str, default: str) -> str:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise gojson.type_error(value, f"Go struct field ToxicWrapper.{key}", "string")
    return value


def _optional_number(fields: dict[str, object], key: str, default: float) -> float:
    value = fields.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise gojson.type_error(value, f"Go struct field ToxicWrapper.{key}", "float32")
    return float(value)
