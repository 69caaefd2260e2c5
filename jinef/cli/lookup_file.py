"""Postcodes of a CSV file looked up, row by row: the file's columns kept, the unit's answer appended.

What `jinef lookup --file` writes and each partition of `jinef batch lookup` runs, so both give the same bytes.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from jinef.cli.csv_rows import header_and_columns, row_chunks
from jinef.common.csv_safety import neutralise_row
from jinef.model import postcode as pc
from jinef.model.address import format_coord

LOOKUP_COLUMNS = ("postcode_found", "status", "standard_address", "lat", "lon", "usage", "reason")
CHUNK_ROWS = 10_000


def lookup_csv(registry: Any, src: TextIO, dst: TextIO, column: str = "postcode") -> dict[str, int]:
    """Stream a CSV through the registry's lookups in chunks; counts of found, not_found and invalid rows."""
    reader = csv.reader(src)
    header, (col,) = header_and_columns(reader, column)
    writer = csv.writer(dst, lineterminator="\n")
    writer.writerow(neutralise_row([*header, *LOOKUP_COLUMNS]))
    counts = {"found": 0, "not_found": 0, "invalid": 0}
    for chunk in row_chunks(reader, CHUNK_ROWS):
        checks = [pc.validate(row[col] if col < len(row) else "") for row in chunk]
        codes = [v.postcode for v in checks if v.postcode is not None]
        found = iter(registry.lookup_many(codes))
        for row, v in zip(chunk, checks, strict=True):
            if v.postcode is None:
                out = ["", "", "", "", "", "", "invalid: " + ", ".join(v.reasons)]
                counts["invalid"] += 1
            elif (a := next(found)) is None:
                out = [v.postcode, "", "", "", "", "", "not_found"]
                counts["not_found"] += 1
            else:
                out = [a.postcode, a.status, a.standard_address, format_coord(a.lat), format_coord(a.lon), a.usage,
                       ""]
                counts["found"] += 1
            writer.writerow(neutralise_row([*row, *out]))  # input cells echoed: never as formulas
    return counts
