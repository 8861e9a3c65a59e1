"""Grafana's template variables in a query: ``$name``, ``${name}``, ``${name:format}`` and
``[[name]]``, substituted the way Grafana does before it sends a query to Prometheus."""

from __future__ import annotations

import re
from collections.abc import Mapping

from dashboards.errors import DashboardError

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
# What Grafana computes per request; the defaults here suit 1 s to 15 s scrape intervals.
BUILTINS: Mapping[str, str] = {"__rate_interval": "1m", "__interval": "15s",
                               "__range": "1h", "__range_s": "3600", "__range_ms": "3600000"}


def names(text: str) -> set[str]:
    """The variable names ``text`` uses."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)}


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every variable replaced from ``values``, then the built-ins. An unknown
    variable is an error naming it: a query Grafana would send with ``$x`` in it is broken."""
    known = {**BUILTINS, **values}

    def one(m: re.Match[str]) -> str:
        name = next(g for g in m.groups() if g)
        if name not in known:
            raise DashboardError(f"variable ${name} in {text!r} has no value; define it as a "
                                 "template variable or pass it (known: "
                                 f"{', '.join(sorted(known))})")
        return known[name]

    return _VARIABLE.sub(one, text)
