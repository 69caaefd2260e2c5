"""The reverse geocoder's part of the read image: geocoded buildings with an active unit, sorted by grid cell.

Buildings are kept as unit vectors (chord length orders them exactly as great-circle distance, anywhere in
Iran), sorted by a ~110 m lat/lon cell so the buildings near a point are a few contiguous runs. No tree is
stored: a tree object cannot be memory-mapped, and building one took every worker seconds and a copy.
"""

from __future__ import annotations

import numpy as np

from jinef.image.folder import ImageWriter
from jinef.image.layout import fine_keys
from jinef.write.compile.tables import Tables


def unit_vectors(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors for points given in degrees."""
    la = np.radians(np.asarray(lats, dtype=np.float64))
    lo = np.radians(np.asarray(lons, dtype=np.float64))
    cos_la = np.cos(la)
    return np.column_stack((cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)))


def compile_reverse(t: Tables, out: ImageWriter) -> None:
    """Write the cell-sorted building grid."""
    b = t.buildings
    lat, lon = b["lat"], b["lon"]
    has_unit = np.diff(t.b_units_offsets) > 0
    rows = np.flatnonzero(has_unit & np.isfinite(lat) & np.isfinite(lon))
    keys = fine_keys(lat[rows], lon[rows])
    # By cell and sub-cell, then by building id: the tie order (equal distances answer the lowest id first) is fixed.
    order = np.lexsort((b["id"][rows], keys))
    rows = rows[order]
    out.array("reverse/key", keys[order])
    out.array("reverse/building", rows.astype(np.int32))
    out.array("reverse/xyz", unit_vectors(lat[rows], lon[rows]))
