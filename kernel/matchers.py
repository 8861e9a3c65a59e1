"""Label matchers (``region="ams", status=~"5.."``) parsed, rendered and applied in Python.

Prometheus selectors and Alertmanager matchers share the grammar: the SLO rules render them
into PromQL and the live budget tracker applies the very same matchers to scraped samples;
runbook triggers match Alertmanager alerts' labels with them. Regexes are anchored, and a
missing label counts as the empty string, as in Prometheus and Alertmanager.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = re.fullmatch(self.value, got) is not None
        return hit if self.op == "=~" else not hit

    def render(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'

    def __str__(self) -> str:
        return self.render()


def parse_selector(text: str) -> tuple[Matcher, ...]:
    """Parse ``a="b", c=~"d"`` (no braces); ValueError naming the bad part."""
    out: list[Matcher] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _MATCHER.match(text, pos)
        if m is None:
            raise ValueError(f"bad label matcher at {text[pos:]!r}; write name=\"value\"")
        value = m.group(3).replace('\\"', '"').replace("\\\\", "\\")
        if m.group(2) in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regex {value!r} in {m.group(1)}: {exc}") from exc
        out.append(Matcher(m.group(1), m.group(2), value))
        pos = m.end()
    return tuple(out)


def parse_matcher(text: str) -> Matcher:
    """Exactly one matcher; ``ValueError`` says what is wrong and shows the expected shape."""
    try:
        parsed = parse_selector(text)
    except ValueError as exc:
        raise ValueError(f"bad label matcher {text!r}: {exc}") from exc
    if len(parsed) != 1:
        raise ValueError(f"bad label matcher {text!r}; write one label=\"value\" with one "
                         "of = != =~ !~ and a double-quoted value")
    return parsed[0]


def render_selector(metric: str, *groups: tuple[Matcher, ...]) -> str:
    inner = ",".join(m.render() for g in groups for m in g)
    return f"{metric}{{{inner}}}" if inner else metric


def matches_all(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
