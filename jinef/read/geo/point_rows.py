"""The result columns a reverse-geocoded point file gets, row by row: one implementation for the CLI and HTTP.

`jinef reverse FILE`, `jinef batch reverse` and `POST /v1/reverse/csv` append these columns to each input row,
so a file gives the same rows whichever way it is sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jinef.read.geo.coords import parse_coordinate
from jinef.read.geo.reverse import REASONS, STATUSES, ReverseGeocoder

RESULT_COLUMNS = ("postcode", "standard_address", "distance_m", "province", "county", "plus_code", "reason")
# The registry's addresses of many postcodes (as integers), None where there is none: ``Registry.source.get_many``.
AddressesOf = Callable[[list[int]], Sequence[Any]]
UNPARSEABLE = "unparseable"  # the count of rows whose point is not a number


def reverse_cells(geocoder: ReverseGeocoder, addresses_of: AddressesOf, rows: Sequence[Sequence[str]],
                  lat_index: int, lon_index: int, radius_m: float) -> tuple[list[list[str]], list[str]]:
    """The result columns of each row's point (the nearest building's postcode and standard address first), and
    each row's status (a reverse status or ``unparseable``)."""
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
    addresses = _standard_addresses(addresses_of, batch.postcode)
    cells: list[list[str]] = []
    statuses: list[str] = []
    for i in range(len(rows)):
        status = STATUSES[batch.status[i]]
        reason = unparseable.get(i) or REASONS[batch.reason[i]] or ("" if status == "ok" else status)
        dist = batch.distance_m[i]
        cells.append([postcodes[i], addresses.get(int(batch.postcode[i]), ""), "" if np.isnan(dist) else f"{dist:.1f}",
                      provinces[i], counties[i], batch.plus_code[i].decode(), reason])
        statuses.append(UNPARSEABLE if i in unparseable else status)
    return cells, statuses


def _standard_addresses(addresses_of: AddressesOf, postcodes: np.ndarray) -> dict[int, str]:
    """The standard address of each distinct found postcode of a chunk (0 = none found)."""
    distinct = [int(p) for p in np.unique(postcodes) if p]
    return {p: a.standard_address for p, a in zip(distinct, addresses_of(distinct), strict=True) if a}
