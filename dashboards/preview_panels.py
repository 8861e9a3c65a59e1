"""How each panel type is drawn in a preview: time series (dashed and shaded band series as
the overrides say, value mappings as tick labels, annotation spans), stats (mapped texts and
threshold colours), tables and text, in Grafana's dark palette."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dashboards.preview_data import PanelData
from dashboards.prometheus import Window
from dashboards.values import fmt

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Json = dict[str, Any]
Box = tuple[float, float, float, float]  # figure fractions: left, bottom, width, height
BG, PANEL_BG, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
COLORS = {"green": "#73bf69", "orange": "#ff9830", "red": "#f2495c", "blue": "#5794f2",
          "yellow": "#fade2a", "purple": "#b877d9", "text": "#ccccdc"}
PALETTE = ("#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9",
           "#705da0", "#508642", "#cca300", "#447ebc", "#c15c17")
MAX_LEGEND = 8


@dataclass(frozen=True)
class Context:
    """What every panel of one preview shares: the time window and annotation spans."""

    window: Window
    spans: tuple[tuple[float, float], ...]


def color(name: str) -> str:
    return COLORS.get(name, name)


def _unit(p: Json) -> str:
    return str(p.get("fieldConfig", {}).get("defaults", {}).get("unit") or "short")


def _decimals(p: Json) -> int | None:
    d = p.get("fieldConfig", {}).get("defaults", {})
    value = d.get("decimals")
    return int(value) if isinstance(value, int) else None


def _mapping(p: Json) -> dict[str, tuple[str, str]]:
    """{value: (text, color)} of the panel's value mappings."""
    out: dict[str, tuple[str, str]] = {}
    for m in p.get("fieldConfig", {}).get("defaults", {}).get("mappings", []) or []:
        for value, o in (m.get("options") or {}).items():
            out[value] = (str(o.get("text", value)), color(str(o.get("color", "text"))))
    return out


def _threshold_color(p: Json, v: float) -> str:
    steps = p.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    chosen = "green"
    for s in steps:
        if s.get("value") is None or (math.isfinite(v) and v >= float(s["value"])):
            chosen = str(s.get("color", chosen))
    return color(chosen)


def _shown(p: Json, v: float) -> tuple[str, str]:
    """(text, colour) of one value: its mapping if it has one, else unit and threshold."""
    mapped = _mapping(p).get(f"{v:g}") if math.isfinite(v) else None
    return mapped or (fmt(v, _unit(p), _decimals(p)), _threshold_color(p, v))


def stat(fig: Figure, box: Box, p: Json,
          data: PanelData) -> None:
    items = [(name, s.finite()[-1][1] if s.finite() else math.nan) for name, s in data.series]
    left, bottom, width, height = box
    n = len(items)
    cols = n if n <= 8 else max(1, int(width * fig.get_figwidth() / 1.0))
    rows = math.ceil(n / cols)
    for i, (name, v) in enumerate(items):
        r, c = divmod(i, cols)
        ax = fig.add_axes((left + width * c / cols + 0.002,
                           bottom + height * (rows - r - 1) / rows + 0.002,
                           width / cols - 0.004, height / rows - 0.004))
        shown, shade = _shown(p, v)
        ax.set_facecolor(shade)
        ax.set_xticks([])
        ax.set_yticks([])
        size = max(7.0, min(18.0, 40.0 / max(rows, 1), 70.0 / max(cols, 1)))
        ax.text(0.5, 0.62, shown, ha="center", va="center", color="white", fontsize=size,
                weight="bold", transform=ax.transAxes)
        ax.text(0.5, 0.2, name, ha="center", va="center", color="white", fontsize=7,
                transform=ax.transAxes)


def table(frame: Axes, p: Json, data: PanelData, title_frac: float) -> None:
    hidden = {"__name__", "job", "instance"}
    keys = sorted({k for _, s in data.series for k in s.labels if k not in hidden})
    header = [*keys, "Value"]
    rows = [[s.labels.get(k, "") for k in keys]
            + [_shown(p, s.finite()[-1][1] if s.finite() else math.nan)[0]]
            for _, s in data.series]
    shown = rows[:14]
    from matplotlib.transforms import Bbox

    top = 1 - title_frac - 0.02
    tall = min(top - 0.02, 0.075 * (len(shown) + 1))
    table = frame.table(cellText=shown, colLabels=header, loc="upper center",
                        bbox=Bbox.from_bounds(0.01, top - tall, 0.98, tall))
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for cell in table.get_celld().values():
        cell.set_facecolor(PANEL_BG)
        cell.set_edgecolor(GRID)
        cell.get_text().set_color(TEXT)


def text(frame: Axes, p: Json) -> None:
    content = str(p.get("options", {}).get("content", ""))
    plain = re.sub(r"\*\*(.+?)\*\*", r"\1", content)
    frame.text(0.01, 0.75, plain, color=TEXT, fontsize=7.5, va="top", wrap=True,
               transform=frame.transAxes)


def timeseries(fig: Figure, box: Box, p: Json,
                data: PanelData, ctx: Context) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    left, bottom, width, height = box
    fw, fh = fig.get_figwidth(), fig.get_figheight()
    legend_w = min(1.6 / fw, width * 0.3)  # the legend to the right of the plot
    ax = fig.add_axes((left + 0.55 / fw, bottom + 0.25 / fh, width - 0.65 / fw - legend_w,
                       height - 0.3 / fh))
    ax.set_facecolor(PANEL_BG)
    dashed = _dashed_pattern(p)
    for i, (name, s) in enumerate(data.series):
        xs = [_days(t) for t, _ in s.points]
        ys = [v for _, v in s.points]
        is_dashed = bool(dashed and re.fullmatch(dashed, name))
        ax.plot(xs, ys, lw=1.0, color=TEXT if is_dashed else PALETTE[i % len(PALETTE)],
                ls="--" if is_dashed else "-", label=name)
    _fill(ax, p, data)
    for start, end in ctx.spans:
        ax.axvspan(_days(start), _days(end), color=COLORS["red"], alpha=0.15, lw=0)
    ax.set_xlim(_days(ctx.window.start), _days(ctx.window.end))
    unit, mapped = _unit(p), _mapping(p)
    if mapped:
        ax.set_yticks([float(v) for v in mapped], [t for t, _ in mapped.values()])
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, unit)))
    clock = "%H:%M:%S" if ctx.window.end - ctx.window.start < 600 else "%H:%M"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(clock))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))  # type: ignore[no-untyped-call]
    ax.xaxis_date()
    ax.tick_params(colors=TEXT, labelsize=6.5, length=2)
    ax.grid(color=GRID, lw=0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _legend(ax, len(data.series))


def _days(unix: float) -> float:
    """Matplotlib's date number (days since 1970-01-01 UTC) of a Unix time."""
    return unix / 86400.0


def _dashed_pattern(p: Json) -> str:
    for o in p.get("fieldConfig", {}).get("overrides", []) or []:
        if any(x.get("id") == "custom.lineStyle" for x in o.get("properties", [])):
            return str(o.get("matcher", {}).get("options", ""))
    return ""


def _fill(ax: Axes, p: Json, data: PanelData) -> None:
    """Shade between the series a ``custom.fillBelowTo`` override pairs (the bands)."""
    pairs = [(str(o["matcher"]["options"]), str(x["value"]))
             for o in p.get("fieldConfig", {}).get("overrides", []) or []
             for x in o.get("properties", []) if x.get("id") == "custom.fillBelowTo"]
    named = dict(data.series)
    for upper, lower in pairs:
        if upper in named and lower in named:
            hi, lo = dict(named[upper].points), dict(named[lower].points)
            ts = sorted(set(hi) & set(lo))
            ax.fill_between([_days(t) for t in ts], [lo[t] for t in ts], [hi[t] for t in ts],
                            color=COLORS["blue"], alpha=0.18, lw=0)


def _legend(ax: Axes, n: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if n > MAX_LEGEND:
        from matplotlib.lines import Line2D

        handles = [*handles[:MAX_LEGEND - 1], Line2D([], [], color="none")]
        labels = [*labels[:MAX_LEGEND - 1], f"... {n - MAX_LEGEND + 1} more"]
    ax.legend(handles, [label[:28] for label in labels], fontsize=5.5, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False, labelcolor=TEXT, handlelength=1.2,
              borderaxespad=0.0)
