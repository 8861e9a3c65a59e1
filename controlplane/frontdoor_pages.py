"""Lists across regions, pure: one page of the regions' lists laid end to end.

A list without a country (``GET /v1/projects``, the GDPR search ``GET /v1/users?email=``)
has no home: every region holds part of it. The merged list is the regions' lists
concatenated in region order, so ``offset``/``limit`` page through it stably. At offset 0
each region's first ``limit`` items suffice (one round); further on, a first round of
``limit=1`` learns each region's total and a second fetches only the windows the page
overlaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Window:
    offset: int
    limit: int  # 0: this region holds nothing of the page


def page_params(query: str) -> tuple[int, int] | None:
    """``(limit, offset)`` of a list query, None when either is not a plain integer (the
    region then answers its own validation error)."""
    limit, offset = DEFAULT_LIMIT, 0
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in ("limit", "offset"):
            continue
        if not value.isdigit() or len(value) > 12:
            return None
        if key == "limit":
            limit = int(value)
        else:
            offset = int(value)
    return limit, offset


def with_window(query: str, window: Window) -> str:
    """``query`` with its limit and offset replaced by the window's (other filters kept)."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
            if k not in ("limit", "offset")]
    return urlencode([*kept, ("limit", str(window.limit)), ("offset", str(window.offset))])


def windows(totals: Sequence[int], offset: int, limit: int) -> list[Window]:
    """Each region's part of ``[offset, offset + limit)`` of the concatenated lists."""
    out, start = [], 0
    for total in totals:
        lo, hi = max(offset, start), min(offset + limit, start + total)
        out.append(Window(lo - start, hi - lo) if hi > lo else Window(0, 0))
        start += total
    return out


def merge(pages: Sequence[Mapping[str, Any]], offset: int, limit: int,
          totals: Sequence[int] | None = None) -> dict[str, Any]:
    """One page from the regions' pages (in region order): their items laid end to end,
    cut to ``limit``, and the sum of their totals."""
    items: list[Any] = []
    for page in pages:
        items.extend(page.get("items", ()))
    total = sum(totals) if totals is not None else sum(int(p.get("total", 0)) for p in pages)
    return {"items": items[:limit], "total": total, "limit": limit, "offset": offset}
