"""The read image's layout: names, record types and encodings that the compiler writes and the read side reads.

This module is the contract between the two sides; neither imports the other. Text that repeats (unit labels,
plates, usages, names) is stored once in a string table and referenced by a code; a code of -1 is SQL NULL.
"""

from __future__ import annotations

import numpy as np

from jinef.model.digits import to_latin_digits

# Buildings are stored sorted by (last thoroughfare row, plate code, id): a thoroughfare's buildings are one
# contiguous run, and a plate on a thoroughfare is a binary search in ``buildings/key``.
PLATE_SHIFT = 21  # buildings/key = last thoroughfare row << PLATE_SHIFT | plate code
NUMERIC_PLATE_LIMIT = 1_000_000  # a digits-only plate below this is its own code; others get codes above it
NO_FLOOR = int(np.iinfo(np.int16).min)  # floor is NULL (a rural house, a plot)
NO_ROW = -1  # a reference to nothing (NULL foreign key), and the code of a NULL text

# Units and buildings are stored as records (``units/rows``, ``buildings/rows``): a lookup reads one row in one
# cache line or two; column users take a field's strided view.
UNIT_RECORD = np.dtype([("id", "<i8"), ("building", "<i4"), ("floor", "<i2"), ("unit", "<i4"), ("usage", "<i2"),
                        ("status", "<i2"), ("valid_from", "<i4"), ("valid_to", "<i4")])
BUILDING_RECORD = np.dtype([("id", "<i8"), ("locality", "<i4"), ("neighbourhood", "<i4"), ("prev", "<i4"),
                            ("last", "<i4"), ("plate", "<i4"), ("entrance", "<i4"), ("name", "<i4"),
                            ("lat", "<f8"), ("lon", "<f8"), ("source", "<i2"), ("quality", "<i2")])

# Text columns stored as codes into a table of distinct values, per record.
UNIT_TEXTS = ("unit", "usage", "status", "valid_from", "valid_to")
BUILDING_TEXTS = ("plate", "entrance", "name", "source")

# The reverse geocoder's grid: buildings sorted by a ~110 m lat/lon cell (see jinef.read.geo.building_index).
CELLS_PER_DEGREE = 1024.0  # a power of two, so multiplying by it is exact
CELLS_PER_ROW = 360 * int(CELLS_PER_DEGREE) + 1  # cell key = row * CELLS_PER_ROW + column, from -90 / -180


SUBCELLS = 4  # each cell is split 4 × 4; buildings are sorted by sub-cell within their cell


def cell_keys(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The reverse grid's cell key of each point (int64)."""
    rows = np.floor((np.asarray(lats, dtype=np.float64) + 90.0) * CELLS_PER_DEGREE).astype(np.int64)
    cols = np.floor((np.asarray(lons, dtype=np.float64) + 180.0) * CELLS_PER_DEGREE).astype(np.int64)
    return rows * CELLS_PER_ROW + cols


def fine_keys(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The reverse grid's sort key of each point: its cell key × 16 + its sub-cell (row-major, 4 × 4 per cell), so a
    cell's buildings are one run and a sub-cell's a run within it."""
    fy = (np.asarray(lats, dtype=np.float64) + 90.0) * CELLS_PER_DEGREE
    fx = (np.asarray(lons, dtype=np.float64) + 180.0) * CELLS_PER_DEGREE
    rows, cols = np.floor(fy), np.floor(fx)
    sub = (np.floor((fy - rows) * SUBCELLS) * SUBCELLS + np.floor((fx - cols) * SUBCELLS)).astype(np.int64)
    return (rows.astype(np.int64) * CELLS_PER_ROW + cols.astype(np.int64)) * SUBCELLS**2 + sub


def plate_key(plate: str) -> str:
    """Comparison form of a plate, unit or entrance number: Latin digits, no spaces or joiners."""
    return to_latin_digits(plate).replace(" ", "").replace("\u200c", "")


def numeric_plate_code(plate: str) -> int:
    """A digits-only plate's code (its number), or -1 when it needs a code from the image's plate table."""
    p = plate_key(plate)
    return int(p) if p.isdigit() and int(p) < NUMERIC_PLATE_LIMIT else -1
