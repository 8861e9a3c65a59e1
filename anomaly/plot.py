"""Drawing a series, its forecast band and its flagged points to PNG (matplotlib Agg)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from anomaly.errors import AnomalyError


def render_png(
    timestamps: Sequence[datetime],
    values: Sequence[float],
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    scores: Sequence[float] | None = None,
    threshold: float = 0.5,
    title: str = "",
    windows: Sequence[tuple[datetime, datetime]] = (),
) -> bytes:
    """PNG bytes: the series, the band shaded, points with ``score >= threshold`` marked,
    and labelled windows (if any) shaded behind."""
    n = len(timestamps)
    for name, seq in (("values", values), ("lower", lower), ("upper", upper), ("scores", scores)):
        if seq is not None and len(seq) != n:
            raise AnomalyError(f"{name} has {len(seq)} points but timestamps has {n}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    x = [_days(t) for t in timestamps]
    fig = Figure(figsize=(10, 3.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for start, end in windows:
        ax.axvspan(_days(start), _days(end), color="#f4c7c3", alpha=0.5, lw=0)
    if lower is not None and upper is not None:
        ax.fill_between(x, lower, upper, color="#9ecae1", alpha=0.5, label="band")
    ax.plot(x, values, color="#08306b", lw=0.8, label="value")
    if scores is not None:
        flagged = [i for i, s in enumerate(scores) if s >= threshold]
        ax.scatter(
            [x[i] for i in flagged],
            [values[i] for i in flagged],
            color="#d62728",
            s=14,
            zorder=3,
            label=f"score >= {threshold:g}",
        )
    ax.xaxis_date()
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _days(t: datetime) -> float:
    """Matplotlib's date number: days since 1970-01-01 UTC (naive times taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp() / 86400.0
