"""Numbers as Grafana shows them for the units the dashboards use, and legends filled in."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def compact(v: float, decimals: int | None = None) -> str:
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= factor:
            return f"{v / factor:.{1 if decimals is None else decimals}f}{suffix}"
    if decimals is not None:
        return f"{v:.{decimals}f}"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.3g}"


def fmt(v: float, unit: str, decimals: int | None = None) -> str:
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    if unit == "percentunit":
        return f"{v * 100:.{2 if decimals is None else decimals}f}%"
    if unit == "percent":
        return f"{v:.{1 if decimals is None else decimals}f}%"
    if unit == "s":
        return f"{v * 1000:.3g} ms" if abs(v) < 1 else f"{v:.3g} s"
    if unit == "ms":
        return f"{v:.3g} ms" if abs(v) < 1000 else f"{v / 1000:.3g} s"
    suffix = {"reqps": " req/s", "ops": " ops/s", "rps": " r/s", "bytes": " B"}.get(unit, "")
    return compact(v, decimals) + suffix


def legend(template: str, labels: Mapping[str, str]) -> str:
    """Grafana's legend format (``{{label}}``); without one, the series' label set."""
    if template:
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template).strip() or "value"
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    name = labels.get("__name__", "")
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}" \
        if shown else (name or "value")
