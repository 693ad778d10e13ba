"""Tables the shell commands print: CSV for scripts, aligned columns for people, and the
first-response figures in those forms (and JSON) for `firstline stats` and the demo.

print(csv_text(["person", "days"], [["anna", "0.25"]]), end="")
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from bot.durations import format_duration
from bot.stats import StatsReport


def csv_text(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def aligned_text(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    table = [[str(value) for value in row] for row in [header, *rows]]
    widths = [max(len(value) for value in column) for column in zip(*table, strict=False)]
    return (
        "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) for row in table)
        + "\n"
    )


STATS_COLUMNS = ("requests", "responded", "within_target", "breached", "p50", "p90", "max", "ratio")


def _row(name: str, kind: str, data: dict[str, Any]) -> list[str]:
    fr = data["first_response_seconds"]
    ratio = data["within_target_ratio"]
    return [
        name,
        kind,
        str(data["requests"]),
        str(data["responded"]),
        str(data["within_target"]),
        str(data["breached"]),
        *("" if fr[k] is None else str(fr[k]) for k in ("p50", "p90", "max")),
        "" if ratio is None else f"{ratio:.4f}",
    ]


def format_stats(report: StatsReport, fmt: str, *, names: dict[str, str] | None = None) -> str:
    """The report as a table, JSON or CSV; ``names`` shows channel ids as names."""
    data = report.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    names = names or {}
    rows = [_row(names.get(c["channel"], c["channel"]), c["kind"], c) for c in data["channels"]]
    rows.append(_row("ALL", "", data))
    header = ["channel", "kind", *STATS_COLUMNS]
    if fmt == "csv":
        return csv_text(header, rows)
    readable = [
        [*r[:6], *(format_duration(float(v)) if v else "–" for v in r[6:9]), r[9] or "–"]
        for r in rows
    ]
    return aligned_text(header, readable)


def format_by_category(figures: dict[str, Any], fmt: str) -> str:
    """First-response figures per triage category, as a table, JSON or CSV."""
    data = {key: value.to_dict() for key, value in figures.items()}
    if fmt == "json":
        return json.dumps({"categories": data}, indent=2) + "\n"
    rows = [_row(key, "", value) for key, value in data.items()]
    header = ["category", *STATS_COLUMNS]
    rows = [[r[0], *r[2:]] for r in rows]
    if fmt == "csv":
        return csv_text(header, rows)
    if not rows:
        return "No requests in this period.\n"
    readable = [
        [*r[:5], *(format_duration(float(v)) if v else "–" for v in r[5:8]), r[8] or "–"]
        for r in rows
    ]
    return aligned_text(header, readable)
