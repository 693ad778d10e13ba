"""Tables the shell commands print: CSV for scripts, aligned columns for people.

print(csv_text(["person", "days"], [["anna", "0.25"]]), end="")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence


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
