"""The result columns a reverse-geocoded point file gets, row by row: one implementation for the CLI and HTTP.

`jinef reverse FILE`, `jinef batch reverse` and `POST /v1/reverse/csv` append these columns to each input row,
so a file gives the same rows whichever way it is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from jinef.read.geo.coords import parse_coordinate
from jinef.read.geo.reverse import REASONS, STATUSES, ReverseGeocoder

RESULT_COLUMNS = ("postcode", "distance_m", "province", "county", "plus_code", "reason")
UNPARSEABLE = "unparseable"  # the count of rows whose point is not a number


def reverse_cells(geocoder: ReverseGeocoder, rows: Sequence[Sequence[str]], lat_index: int, lon_index: int,
                  radius_m: float) -> tuple[list[list[str]], list[str]]:
    """The result columns of each row's point, and each row's status (a reverse status or ``unparseable``)."""
    lats = np.empty(len(rows))
    lons = np.empty(len(rows))
    unparseable: dict[int, str] = {}
    for i, row in enumerate(rows):
        la = parse_coordinate(row[lat_index]) if lat_index < len(row) else None
        lo = parse_coordinate(row[lon_index]) if lon_index < len(row) else None
        if la is None or lo is None:
            unparseable[i] = "unparseable_lat" if la is None else "unparseable_lon"
        lats[i] = math.nan if la is None else la
        lons[i] = math.nan if lo is None else lo
    batch = geocoder.reverse_many(lats, lons, radius_m=radius_m)
    postcodes, provinces, counties = batch.postcode_text(), batch.province_names(), batch.county_names()
    cells: list[list[str]] = []
    statuses: list[str] = []
    for i in range(len(rows)):
        status = STATUSES[batch.status[i]]
        reason = unparseable.get(i) or REASONS[batch.reason[i]] or ("" if status == "ok" else status)
        dist = batch.distance_m[i]
        cells.append([postcodes[i], "" if np.isnan(dist) else f"{dist:.1f}", provinces[i], counties[i],
                      batch.plus_code[i].decode(), reason])
        statuses.append(UNPARSEABLE if i in unparseable else status)
    return cells, statuses
