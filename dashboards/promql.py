"""Just enough PromQL reading for the linter and the coverage checks: a tokenizer and the
vector selectors of an expression, each with its matchers, its range and the function it
sits in. Not a validator (``promtool`` and Prometheus itself are, in the tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dashboards.errors import DashboardError

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<ident>[A-Za-z_:$][A-Za-z0-9_:$]*|\$\{[^}]*\})
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){},@])
""", re.VERBOSE)
# Words that take a parenthesised list of label names, never selectors.
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
                           "topk", "bottomk", "quantile", "count_values"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Selector:
    """``metric{matchers}[range]``; ``function`` is the call directly around it ("" if none)."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...]
    range: str
    function: str

    def matcher(self, label: str) -> tuple[str, str] | None:
        """(operator, value) of the first matcher on ``label``, or None."""
        return next(((op, v) for name, op, v in self.matchers if name == label), None)


def tokens(expr: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise DashboardError(f"cannot read PromQL at {expr[pos:pos + 20]!r} in {expr!r}; "
                                 "fix the expression")
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(Token(kind, m.group()))
        pos = m.end()
    return out


def _balanced(toks: list[Token], expr: str) -> None:
    depth = {"(": 0, "{": 0}
    for t in toks:
        opener = {"(": "(", ")": "(", "{": "{", "}": "{"}.get(t.text)
        if opener:
            depth[opener] += 1 if t.text in "({" else -1
            if depth[opener] < 0:
                break
    if any(depth.values()):
        raise DashboardError(f"unbalanced parentheses or braces in {expr!r}; fix the "
                             "expression")


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in ``expr`` (variables such as ``$region`` left as written)."""
    toks = tokens(expr)
    _balanced(toks, expr)
    found: list[Selector] = []
    calls: list[str] = []  # the function (or "" for a plain paren) of each open "("
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1].text if i + 1 < len(toks) else ""
        if t.kind == "ident" and t.text in _LABEL_LISTS:
            i = _skip_parens(toks, i + 1) if nxt == "(" else i + 1  # bare `group_left`
            continue
        if t.kind == "ident" and t.text in _AGGREGATIONS and nxt in ("by", "without"):
            i = _skip_parens(toks, i + 2)  # `sum by (a, b) (...)`: the call's "(" is next
            calls.append(t.text)
            i += 1
            continue
        if t.kind == "ident" and nxt == "(":
            calls.append(t.text)
            i += 2
            continue
        if t.text == "(":
            calls.append("")
        elif t.text == ")":
            if calls:
                calls.pop()
        elif (t.kind == "ident" and t.text not in _KEYWORDS) or t.text == "{":
            selector, i = _selector(toks, i, calls[-1] if calls else "")
            found.append(selector)
            continue
        i += 1
    return found


def _skip_parens(toks: list[Token], i: int) -> int:
    """Index after the parenthesised list starting at ``toks[i]`` == "("."""
    depth = 0
    while i < len(toks):
        depth += {"(": 1, ")": -1}.get(toks[i].text, 0)
        i += 1
        if depth == 0:
            break
    return i


def _selector(toks: list[Token], i: int, function: str) -> tuple[Selector, int]:
    metric = ""
    if toks[i].kind == "ident":
        metric = toks[i].text
        i += 1
    matchers: list[tuple[str, str, str]] = []
    if i < len(toks) and toks[i].text == "{":
        i += 1
        while i < len(toks) and toks[i].text != "}":
            if toks[i].kind == "ident" and i + 2 < len(toks):
                matchers.append((toks[i].text, toks[i + 1].text, toks[i + 2].text[1:-1]))
                i += 3
            else:
                i += 1  # commas
        i += 1
    if not metric:
        name = next((v for label, op, v in matchers if label == "__name__"), "")
        metric = name
    rng = ""
    if i < len(toks) and toks[i].kind == "range":
        rng = toks[i].text[1:-1]
        i += 1
    return Selector(metric, tuple(matchers), rng, function), i


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (regex ``__name__`` matchers kept as written)."""
    return {s.metric for s in selectors(expr) if s.metric}
