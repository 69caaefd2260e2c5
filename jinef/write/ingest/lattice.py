"""The national lattice of street blocks: cells of about 300 m, aligned on latitude and longitude.

Every generated street lies inside one cell of this lattice. The planner hands cells out (each to one
area job, see :mod:`jinef.write.ingest.block_claims`) and a job lays its streets out inside its own cells only,
a few metres clear of their edges, so buildings of different jobs can never meet. A cell is named by one
integer (row * NCOLS + column) that a worker turns back into coordinates without any reference data.
"""

from __future__ import annotations

import math

import numpy as np

from jinef.write.ingest.placement import KM_PER_DEG

M_PER_DEG = KM_PER_DEG * 1000
BLOCK_M = 300.0
DLAT = BLOCK_M / M_PER_DEG
# One width in degrees for the whole country: about 300 m at 32.5°N, from 274 m in the north (39.8°N) to
# 323 m in the south (25°N). The street layout takes each cell's own width in metres.
DLON = 0.0032
LON0, LAT0 = 40.0, 20.0  # the lattice's south-west corner: Iran lies within 44–64°E, 25–40°N
NCOLS = NROWS = 8192  # up to 66.2°E and 42.1°N
N_CELLS = NCOLS * NROWS
# Radius of a cell's circumscribed disc in degrees: a cell whose centre is farther than this from a
# polygon's boundary (and inside it) lies wholly inside the polygon.
CELL_REACH_DEG = math.hypot(DLON / 2, DLAT / 2)


def cell_of(lon: float, lat: float) -> tuple[int, int]:
    """(column, row) of the cell holding a point."""
    return int((lon - LON0) // DLON), int((lat - LAT0) // DLAT)


def keys_of(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Cell keys of (column, row) arrays."""
    return row.astype(np.int64) * NCOLS + col


def centres(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) arrays of the centres of cells."""
    row, col = np.divmod(keys, NCOLS)
    return LON0 + (col + 0.5) * DLON, LAT0 + (row + 0.5) * DLAT


def centre(key: int) -> tuple[float, float]:
    """(lon, lat) of a cell's centre."""
    row, col = divmod(key, NCOLS)
    return LON0 + (col + 0.5) * DLON, LAT0 + (row + 0.5) * DLAT


def corner(key: int) -> tuple[float, float]:
    """(lon, lat) of a cell's south-west corner."""
    row, col = divmod(key, NCOLS)
    return LON0 + col * DLON, LAT0 + row * DLAT


def size_m(key: int) -> tuple[float, float]:
    """(width, height) of a cell in metres, the width at its middle latitude."""
    row = key // NCOLS
    lat = LAT0 + (row + 0.5) * DLAT
    return DLON * M_PER_DEG * math.cos(math.radians(lat)), BLOCK_M


def _ring_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(dcol, drow) of every cell within ``radius`` cells, nearest first (ties in a fixed angular order)."""
    r = np.arange(-radius, radius + 1)
    dc, dr = (a.ravel() for a in np.meshgrid(r, r))
    d2 = dc * dc + dr * dr
    keep = d2 <= radius * radius
    dc, dr, d2 = dc[keep], dr[keep], d2[keep]
    order = np.lexsort((np.arctan2(dr, dc), d2))
    return dc[order].astype(np.int64), dr[order].astype(np.int64)


SEARCH_RADIUS = 250  # cells (75 km): how far a city may grow from its centre
OFFSETS = _ring_offsets(SEARCH_RADIUS)  # ~196k pairs, computed once at import (a few milliseconds)


def hilbert_order(keys: np.ndarray) -> np.ndarray:
    """Indices that sort cells along a Hilbert curve: consecutive runs of the result are compact patches."""
    row, col = np.divmod(keys.astype(np.int64), NCOLS)
    x, y = col.copy(), row.copy()
    d = np.zeros(len(keys), dtype=np.int64)
    s = NCOLS // 2
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        x = np.where(flip, NCOLS - 1 - x, x)
        y = np.where(flip, NCOLS - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s //= 2
    return np.argsort(d, kind="stable")
