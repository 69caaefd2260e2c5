"""The address query and row conversions shared by every SQL engine (standard SQL, no dialect)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np

from jinef.model.address import Address, address_from_values
from jinef.model.postcode import from_int

ADDRESS_SELECT = """
SELECT u.id, u.postcode, p.name, c.name, COALESCE(d.name, ''), COALESCE(r.name, ''), l.type, l.name,
       COALESCE(n.name, ''), pt.type, pt.name, lt.type, lt.name, b.plate, b.entrance, b.name,
       u.floor, u.unit, u.usage, b.lat, b.lon, b.geocode_source, b.geocode_quality,
       u.status, u.valid_from, u.valid_to, b.id
FROM units u
JOIN buildings b ON b.id = u.building_id
JOIN localities l ON l.id = b.locality_id
JOIN provinces p ON p.code = l.province_code
JOIN counties c ON c.code = l.county_code
LEFT JOIN districts d ON d.code = l.district_code
LEFT JOIN rural_districts r ON r.code = l.rural_district_code
LEFT JOIN neighbourhoods n ON n.id = b.neighbourhood_id
LEFT JOIN thoroughfares pt ON pt.id = b.prev_thoroughfare_id
LEFT JOIN thoroughfares lt ON lt.id = b.last_thoroughfare_id
"""

# The export's rows without text joins: unit and building fields, with the ids of the building's
# locality, neighbourhood and thoroughfares (a few hundred thousand distinct ones, looked up once by the
# exporter instead of being joined and decoded per unit).
EXPORT_SELECT = """
SELECT u.postcode, u.floor, u.unit, u.usage, b.locality_id, b.neighbourhood_id, b.prev_thoroughfare_id,
       b.last_thoroughfare_id, b.plate, b.entrance, b.name, b.lat, b.lon
FROM units u
JOIN buildings b ON b.id = u.building_id
"""


def export_where(active_only: bool, start: int | None, stop: int | None, param: str) -> tuple[str, list[int]]:
    """The WHERE clause of an export chunk query and its parameters (``param`` is the engine's placeholder)."""
    terms = ["u.status = 'active'"] if active_only else []
    params = []
    for op, value in ((">=", start), ("<", stop)):
        if value is not None:
            terms.append(f"u.postcode {op} {param}")
            params.append(value)
    return (" WHERE " + " AND ".join(terms) if terms else ""), params


# The n-th postcode after a given one: walks the postcode index from there.
BOUND_SQL = "SELECT postcode FROM units WHERE postcode > {p} ORDER BY postcode LIMIT 1 OFFSET {p}"


EXPORT_FIELDS = ("postcode", "floor", "unit", "usage", "locality_id", "neighbourhood_id", "prev_thoroughfare_id",
                 "last_thoroughfare_id", "plate", "entrance", "name", "lat", "lon")


def thoroughfare_text(kind: str | None, name: str | None) -> str:
    """A thoroughfare with its type word («خیابان آزادی»), or '' when there is none."""
    if not kind:
        return ""
    return f"{kind} {name}" if name else kind


def date_of(value: str | date | None) -> date | None:
    """A stored validity date as a date (None when absent)."""
    # SQLite stores ISO text, PostgreSQL a DATE: both become a date.
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(value)


def row_to_address(r: Sequence[Any]) -> Address:
    """Turn one row of the address query into an :class:`Address`."""
    lat, lon = r[19], r[20]
    return address_from_values((
        from_int(r[1]),  # postcode
        r[2], r[3], r[4], r[5], r[6], r[7], r[8],  # province … neighbourhood
        thoroughfare_text(r[9], r[10]), thoroughfare_text(r[11], r[12]),
        r[13] or "", r[14] or "", r[15] or "",  # plate, entrance, building
        r[16], r[17] or "", r[18],  # floor, unit, usage
        None if lat is None else round(lat, 7), None if lon is None else round(lon, 7),  # 1 cm, as exported
        r[21], r[22], r[23], date_of(r[24]), date_of(r[25]),  # geocode source, quality, status, validity
        r[0], r[26],  # unit id, building id
    ))


def rows_to_columns(rows: Sequence[Sequence[Any]], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Column arrays from fetched rows: floats with NaN, integer keys with -1 for NULL, the rest as objects.

    ``floor`` stays an object column: -1 is a real floor (the first basement), so NULL needs its own value.
    """
    out: dict[str, np.ndarray] = {}
    for i, n in enumerate(names):
        values = [r[i] for r in rows]
        if n in ("lat", "lon"):
            out[n] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif n in ("id", "postcode") or n.endswith("_id") or n == "geocode_quality":
            out[n] = np.array([-1 if v is None else v for v in values], dtype=np.int64)
        else:
            out[n] = np.array(values, dtype=object)
    return out


COLUMN_CHUNK_ROWS = 100_000


def column_chunks_from_cursor(cursor: Any, names: Sequence[str], rows: int = COLUMN_CHUNK_ROWS
                              ) -> Iterator[dict[str, np.ndarray]]:
    """:func:`rows_to_columns` of each chunk of ``rows`` rows of a cursor, in order."""
    while chunk := cursor.fetchmany(rows):
        yield rows_to_columns(chunk, names)


def columns_from_cursor(cursor: Any, names: Sequence[str]) -> dict[str, np.ndarray]:
    """:func:`rows_to_columns` over a cursor read in chunks: at national scale a table's rows as Python
    tuples, all at once, took several times the memory of the arrays made from them."""
    parts = []
    while rows := cursor.fetchmany(COLUMN_CHUNK_ROWS):
        parts.append(rows_to_columns(rows, names))
    if len(parts) <= 1:
        return parts[0] if parts else rows_to_columns([], names)
    return {n: np.concatenate([p[n] for p in parts]) for n in names}


# Units that are not retired: what an export writes and an import of it loads (the replace guard compares them).
ACTIVE_UNITS_SQL = "SELECT COUNT(*) FROM units WHERE status = 'active'"

# Per-province counts, in SQL both engines run (CASE sums rather than SQLite's boolean SUM or
# PostgreSQL's FILTER), so the statistics are computed one way only.
STATS_SQL = """
WITH b AS (
    SELECT l.province_code AS pc, COUNT(*) AS buildings FROM buildings bb
    JOIN localities l ON l.id = bb.locality_id GROUP BY l.province_code),
u AS (
    SELECT l.province_code AS pc, COUNT(*) AS units,
           SUM(CASE WHEN uu.status = 'active' THEN 1 ELSE 0 END) AS active,
           SUM(CASE WHEN uu.status = 'active' AND bb.lat IS NOT NULL AND bb.lon IS NOT NULL
                    THEN 1 ELSE 0 END) AS geocoded
    FROM units uu JOIN buildings bb ON bb.id = uu.building_id
    JOIN localities l ON l.id = bb.locality_id GROUP BY l.province_code),
t AS (
    SELECT l.province_code AS pc, COUNT(*) AS n FROM thoroughfares tt
    JOIN localities l ON l.id = tt.locality_id GROUP BY l.province_code),
lo AS (SELECT province_code AS pc, COUNT(*) AS n FROM localities GROUP BY province_code)
SELECT p.code, p.name, COALESCE(u.units, 0), COALESCE(u.active, 0), COALESCE(b.buildings, 0),
       COALESCE(t.n, 0), COALESCE(lo.n, 0), COALESCE(u.geocoded, 0)
FROM provinces p LEFT JOIN u ON u.pc = p.code LEFT JOIN b ON b.pc = p.code
LEFT JOIN t ON t.pc = p.code LEFT JOIN lo ON lo.pc = p.code ORDER BY p.code
"""
