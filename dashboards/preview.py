"""Seeing a dashboard without Grafana: every panel drawn from Prometheus data with
matplotlib (Agg), laid out on Grafana's grid - one PNG of the whole dashboard and, on
request, one per panel. Time series, stat, table, text and row panels; annotation queries
shade the time ranges where they hold."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards.errors import DashboardError
from dashboards.model import GRID_WIDTH
from dashboards.preview_data import PanelData, fetch_annotations, fetch_panel, variable_values
from dashboards.preview_panels import (
    BG,
    GRID,
    PANEL_BG,
    TEXT,
    Box,
    Context,
    stat,
    table,
    text,
    timeseries,
)
from dashboards.prometheus import Prometheus, Window

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Json = dict[str, Any]
COL_IN, ROW_IN = 16 / GRID_WIDTH, 0.3  # inches per grid column and row
DPI = 80


@dataclass(frozen=True)
class Preview:
    dashboard: Path
    panels: tuple[Path, ...]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "panel"


def render(d: Json, prom: Prometheus, window: Window, out: Path,
           given: Mapping[str, str] | None = None, per_panel: bool = False) -> Preview:
    """Draw dashboard ``d`` over ``window``; ``given`` sets template variables (the rest:
    constants, "All", or the first value Prometheus knows)."""
    import matplotlib

    matplotlib.use("Agg")
    values = variable_values(d, prom, given or {})
    panels = [p for p in d.get("panels", []) if "gridPos" in p]
    data = {id(p): fetch_panel(p, prom, values, window) for p in panels}
    spans = fetch_annotations(d, prom, values, window)
    out.mkdir(parents=True, exist_ok=True)
    whole = out / f"{d.get('uid', 'dashboard')}.png"
    ctx = Context(window, tuple(spans))
    _save(_dashboard_figure(d, panels, data, ctx), whole)
    singles = []
    if per_panel:
        for p in panels:
            if p.get("type") == "row":
                continue
            path = out / f"{d.get('uid')}--{p.get('id', 0):02d}-{_slug(str(p.get('title')))}.png"
            _save(_panel_figure(p, data[id(p)], ctx), path)
            singles.append(path)
    return Preview(whole, tuple(singles))


def _save(fig: Figure, path: Path) -> None:
    """PNG with an adaptive palette: dashboards are a few flat colours, so this keeps the
    file a fraction of its RGB size."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, facecolor=BG, format="png")
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=96).save(path, format="PNG", optimize=True)


def _dashboard_figure(d: Json, panels: Sequence[Json], data: Mapping[int, PanelData],
                      ctx: Context) -> Figure:
    import matplotlib.pyplot as plt

    rows = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=1)
    title_in = 0.45
    height = rows * ROW_IN + title_in
    fig = plt.figure(figsize=(GRID_WIDTH * COL_IN, height), facecolor=BG)
    fig.text(0.005, 1 - 0.3 / height, str(d.get("title", "")), color=TEXT, fontsize=13,
             weight="bold", va="center")
    for p in panels:
        g = p["gridPos"]
        box = (g["x"] / GRID_WIDTH, 1 - (title_in + (g["y"] + g["h"]) * ROW_IN) / height,
               g["w"] / GRID_WIDTH, g["h"] * ROW_IN / height)
        _draw(fig, box, p, data[id(p)], ctx)
    return fig


def _panel_figure(p: Json, data: PanelData, ctx: Context) -> Figure:
    import matplotlib.pyplot as plt

    g = p["gridPos"]
    fig = plt.figure(figsize=(max(g["w"], 6) * COL_IN, max(g["h"], 4) * ROW_IN), facecolor=BG)
    _draw(fig, (0.0, 0.0, 1.0, 1.0), p, data, ctx)
    return fig


def _draw(fig: Figure, box: Box, p: Json, data: PanelData,
          ctx: Context) -> None:
    """One panel in ``box`` (figure fractions: left, bottom, width, height)."""
    left, bottom, width, height = box
    pad_w, pad_h = 0.003, 0.004
    frame = fig.add_axes((left + pad_w, bottom + pad_h, width - 2 * pad_w, height - 2 * pad_h))
    frame.set_xticks([])
    frame.set_yticks([])
    kind = p.get("type")
    frame.set_facecolor(BG if kind == "row" else PANEL_BG)
    for spine in frame.spines.values():
        spine.set_color(GRID if kind != "row" else BG)
    frame.text(0.01, 0.97 if kind != "row" else 0.5, str(p.get("title", "")), color=TEXT,
               fontsize=9 if kind != "row" else 10.5, weight="bold", va="top"
               if kind != "row" else "center", transform=frame.transAxes)
    if kind == "row":
        return
    title_frac = min(0.3, 0.22 / (height * fig.get_figheight()))
    inner = (left + pad_w, bottom + pad_h, width - 2 * pad_w, (height - 2 * pad_h)
             * (1 - title_frac))
    if kind == "text":
        text(frame, p)
    elif not data.series:
        frame.text(0.5, 0.45, "No data", color="#8e8e8e", fontsize=11, ha="center",
                   transform=frame.transAxes)
    elif kind == "stat":
        stat(fig, inner, p, data)
    elif kind == "table":
        table(frame, p, data, title_frac)
    else:
        timeseries(fig, inner, p, data, ctx)


def check_window(window: Window) -> None:
    if window.end <= window.start or window.step <= 0:
        raise DashboardError(f"preview window {window} is empty; pass --since > 0 and "
                             "--step > 0")
