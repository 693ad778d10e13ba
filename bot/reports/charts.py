"""PNG charts for the weekly report, drawn headless with matplotlib's Agg canvas.

    png = heatmap_png(report.heatmap, title="Requests by hour of week, #support, 2026-W48")

No pyplot: each chart is its own ``Figure`` on an Agg canvas, so nothing global is
touched and no display is needed. PNG metadata is fixed so the same data gives the
same bytes.

Readability: an empty heatmap cell is white and every count from 1 up has a visibly
coloured cell (the scale starts at a pale but clearly tinted yellow); each count is
printed black or white, whichever contrasts with its cell; the colour scale is ticked
in whole requests.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_METADATA = {"Software": None}
EMPTY = "#ffffff"
# Where on YlOrRd a count of 1 starts: far enough from white that 0 and 1 differ at a glance.
_FIRST_SHADE = 0.2


def text_colour(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever is more readable on a cell of colour ``rgba`` (WCAG
    relative luminance: dark cells above about 0.18 get black text, darker ones white)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05); equal at ~0.179.
    return "black" if luminance > 0.179 else "white"


def heatmap_figure(matrix: list[list[int]], *, title: str) -> Figure:
    """The 7x24 hour-of-week heatmap as a Figure: rows Monday to Sunday, columns 00 to 23."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    peak = max([1, *(max(row) for row in matrix)])
    shades = colormaps["YlOrRd"](np.linspace(_FIRST_SHADE, 1.0, 256))
    cmap = ListedColormap(shades).with_extremes(bad=EMPTY)
    masked = np.ma.masked_equal(np.array(matrix, dtype=float), 0)
    # Counts 1..top span the scale (a one-request week still gets its colour).
    top = max(peak, 2)
    image = axes.imshow(masked, aspect="auto", cmap=cmap, vmin=1, vmax=top, interpolation="nearest")
    axes.set_yticks(range(7), labels=list(DAYS))
    axes.set_xticks(range(0, 24, 2), labels=[f"{h:02d}" for h in range(0, 24, 2)])
    axes.set_xlabel("hour (local time)")
    axes.set_title(title)
    for day, row in enumerate(matrix):
        for hour, count in enumerate(row):
            if count:
                colour = text_colour(cmap((count - 1) / (top - 1)))
                axes.text(hour, day, str(count), ha="center", va="center", fontsize=7, color=colour)
    bar = figure.colorbar(image, ax=axes, label="requests")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    figure.tight_layout()
    return figure


def heatmap_png(matrix: list[list[int]], *, title: str) -> bytes:
    return _png(heatmap_figure(matrix, title=title))


def per_day_png(per_day: list[tuple[str, int]], *, title: str) -> bytes:
    """Requests per day as bars, one per day of the week."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    labels = [f"{DAYS[i]} {day[5:]}" for i, (day, _) in enumerate(per_day)]
    counts = [n for _, n in per_day]
    bars = axes.bar(labels, counts, color="#2c7fb8")
    axes.bar_label(bars, labels=[str(n) if n else "" for n in counts], fontsize=8)
    axes.set_ylabel("requests")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title)
    axes.set_ylim(0, max([*counts, 1]) * 1.2)
    figure.tight_layout()
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata=_METADATA)
    return buffer.getvalue()
