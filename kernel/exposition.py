"""Prometheus text exposition, parsed once for everyone, and the ``MetricsSource`` seam.

The control plane's probe diff, its latency histogram and the SLO tracker all read a region's
``/metrics``; they share :func:`parse_exposition`, which can keep only the metric names a
caller wants (a scrape is mostly series nobody reads, and the reconciler parses six of them
every second). Counters keep their ``_total`` suffix, as Prometheus stores them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol


class ExpositionError(ValueError):
    """Text that is not Prometheus exposition format; the message quotes the bad line."""


@dataclass(frozen=True)
class Sample:
    """One sample of one series: its metric name, its labels and its value."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    value: float = 0.0

    def __post_init__(self) -> None:
        # Freeze the labels too, so a Sample can be shared across cycles safely.
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    def label(self, key: str, default: str = "") -> str:
        return self.labels.get(key, default)


@dataclass(frozen=True)
class Series:
    """A range-query result: one series' labels and its (unix seconds, value) points."""

    name: str
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


class MetricsSource(Protocol):
    """Where a region's SLI samples come from: a direct scrape, or Prometheus."""

    def collect(self, region: str) -> tuple[Sample, ...]: ...


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_exposition(text: str, names: Collection[str] | None = None) -> tuple[Sample, ...]:
    """Every sample in ``text`` (or only those whose metric name is in ``names``)."""
    wanted = frozenset(names) if names is not None else None
    prefixes = tuple(wanted) if wanted is not None else ("",)
    out: list[Sample] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#" or not line.startswith(prefixes):
            continue
        sample = _parse_line(line, number)
        if wanted is None or sample.name in wanted:
            out.append(sample)
    return tuple(out)


def _parse_line(line: str, number: int) -> Sample:
    brace, space = line.find("{"), line.find(" ")
    if brace != -1 and (space == -1 or brace < space):
        name = line[:brace]
        labels, rest = _parse_labels(line, brace + 1, number)
    else:
        if space == -1:
            raise ExpositionError(f"line {number}: no value in {line[:80]!r}")
        name, labels, rest = line[:space], {}, line[space:]
    if not name or not (name[0].isalpha() or name[0] in "_:"):
        raise ExpositionError(f"line {number}: bad metric name in {line[:80]!r}")
    fields = rest.split()
    if not fields or len(fields) > 2:
        raise ExpositionError(f"line {number}: expected a value (and a timestamp) after "
                              f"{name!r}, got {rest.strip()[:40]!r}")
    return Sample(name, labels, _number(fields[0], number))


def _parse_labels(line: str, i: int, number: int) -> tuple[dict[str, str], str]:
    labels: dict[str, str] = {}
    while True:
        while i < len(line) and line[i] in " ,":
            i += 1
        if i < len(line) and line[i] == "}":
            return labels, line[i + 1:]
        eq = line.find("=", i)
        if eq == -1 or eq + 1 >= len(line) or line[eq + 1] != '"':
            raise ExpositionError(f"line {number}: labels not of the form name=\"value\" in "
                                  f"{line[:80]!r}")
        key = line[i:eq].strip()
        value, i = _quoted(line, eq + 2, number)
        labels[key] = value


def _quoted(line: str, i: int, number: int) -> tuple[str, int]:
    """The label value starting after its opening quote, and the index after its closing one."""
    end = line.find('"', i)
    if end != -1 and "\\" not in line[i:end]:  # the common case: nothing escaped
        return line[i:end], end + 1
    chars: list[str] = []
    while i < len(line):
        c = line[i]
        if c == '"':
            return "".join(chars), i + 1
        if c == "\\" and i + 1 < len(line):
            i += 1
            chars.append(_ESCAPES.get(line[i], "\\" + line[i]))
        else:
            chars.append(c)
        i += 1
    raise ExpositionError(f"line {number}: unterminated label value in {line[:80]!r}")


def _number(text: str, number: int) -> float:
    try:
        return float(text)
    except ValueError:
        special = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
        if text in special:
            return special[text]
        raise ExpositionError(f"line {number}: {text!r} is not a number") from None
