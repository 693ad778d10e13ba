"""PNG charts for the weekly report, drawn headless with matplotlib's Agg canvas.

    png = heatmap_png(report.heatmap, title="Requests by hour, Europe/Berlin")

No pyplot: each chart is its own ``Figure`` on an Agg canvas, so nothing global is
touched and no display is needed. PNG metadata is fixed so the same data gives the
same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_METADATA = {"Software": None}


def heatmap_png(matrix: list[list[int]], *, title: str) -> bytes:
    """A 7x24 hour-of-week heatmap: rows Monday to Sunday, columns 00 to 23 local time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(matrix, aspect="auto", cmap="YlOrRd", vmin=0, interpolation="nearest")
    axes.set_yticks(range(7), labels=list(DAYS))
    axes.set_xticks(range(0, 24, 2), labels=[f"{h:02d}" for h in range(0, 24, 2)])
    axes.set_xlabel("hour (local time)")
    axes.set_title(title)
    for day, row in enumerate(matrix):
        for hour, count in enumerate(row):
            if count:
                axes.text(hour, day, str(count), ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=axes, label="requests")
    figure.tight_layout()
    return _png(figure)


def per_day_png(per_day: list[tuple[str, int]], *, title: str) -> bytes:
    """Requests per day as bars, one per day of the week."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    labels = [f"{DAYS[i]} {day[5:]}" for i, (day, _) in enumerate(per_day)]
    counts = [n for _, n in per_day]
    bars = axes.bar(labels, counts, color="#2c7fb8")
    axes.bar_label(bars, labels=[str(n) if n else "" for n in counts], fontsize=8)
    axes.set_ylabel("requests")
    axes.set_title(title)
    axes.set_ylim(0, max([*counts, 1]) * 1.2)
    figure.tight_layout()
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata=_METADATA)
    return buffer.getvalue()
