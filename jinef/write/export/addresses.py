"""Export every active unit as CSV or JSON Lines with exactly :data:`EXPORT_COLUMNS`."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from typing import Literal, TextIO

from jinef.common.csv_safety import neutralise_row
from jinef.model.address import EXPORT_COLUMNS, Address

ExportFormat = Literal["csv", "jsonl"]


def write_export(
    addresses: Iterable[Address],
    out: TextIO,
    fmt: ExportFormat = "csv",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write addresses to ``out``; return how many were written."""
    n = 0
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(EXPORT_COLUMNS)
        for a in addresses:
            row = a.export_row()
            w.writerow(neutralise_row([row[c] for c in EXPORT_COLUMNS]))  # formula-like cells as text
            n += 1
            if progress and n % 10_000 == 0:
                progress(10_000)
    elif fmt == "jsonl":
        for a in addresses:
            out.write(json.dumps(a.export_row(), ensure_ascii=False) + "\n")
            n += 1
            if progress and n % 10_000 == 0:
                progress(10_000)
    else:
        raise ValueError(f"unknown export format {fmt!r} (csv or jsonl)")
    if progress:
        progress(n % 10_000)
    return n
