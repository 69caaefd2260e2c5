"""Nearest geocoded buildings from the read image's cell grid: no tree, nothing built per worker.

Buildings with an active unit are unit vectors on the sphere (chord length is monotonic in great-circle
distance, so nearest-neighbour order is exact everywhere in Iran), sorted by a ~110 m lat/lon cell
(:func:`jinef.image.layout.fine_keys`): the buildings of one cell row within a column range are one
contiguous run, found by bisection. A row index here is a position in that order.

- One point: the runs of the cell rows its radius spans; a plain loop over a few dozen candidates, numpy
  over more (a radius of unbounded size doubles until it holds ``k`` buildings).
- Many points: vectorised rounds over growing boxes. A point is settled once its nearest building is nearer
  than the box's edge (or the box holds its whole radius); most settle in the first round, which looks at
  their own sub-cell only (buildings are sorted by a 4 × 4 sub-cell within each cell), and nearly all the
  rest in the next, the 3×3 cells around them.

Ties (two buildings at exactly the same distance) go to the lower row, on both paths.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from functools import cached_property

import numpy as np

from jinef.image.folder import ReadImage
from jinef.image.layout import CELLS_PER_DEGREE as _CELLS_PER_DEGREE
from jinef.image.layout import CELLS_PER_ROW, SUBCELLS, cell_keys
from jinef.model.postcode import from_int

__all__ = ["EARTH_RADIUS_M", "BuildingIndex", "cell_keys", "haversine_m", "unit_vectors"]

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
CELL_DEGREES = 1 / _CELLS_PER_DEGREE
_CELL_M = math.pi * EARTH_RADIUS_M / 180.0 / _CELLS_PER_DEGREE  # a cell's height in metres (~108.6)
_RADIANS, _DEGREES = math.pi / 180.0, 180.0 / math.pi
_PLAIN_PYTHON_MAX = 48  # candidates up to which a plain loop beats numpy (measured on the 2M registry)
_PER_CELL = SUBCELLS**2  # sort keys are cell key × this + sub-cell
_CELLS_PER_ROW = CELLS_PER_ROW * _PER_CELL  # sort keys of one whole cell row
_BATCH_POINTS = 32_768  # points per vectorised round: bounds the candidate arrays' memory


def unit_vectors(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors for points given in degrees."""
    la = np.radians(np.asarray(lats, dtype=np.float64))
    lo = np.radians(np.asarray(lons, dtype=np.float64))
    cos_la = np.cos(la)
    return np.column_stack((cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)))


def chord_to_metres(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres for chord lengths on the unit sphere (inf stays inf)."""
    chord = np.asarray(chord, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        metres = 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2.0, 1.0))
    return np.where(np.isinf(chord), np.inf, metres)


def metres_to_chord(metres: float) -> float:
    """Chord length on the unit sphere for a great-circle distance in metres."""
    return 2.0 * math.sin(min(metres / EARTH_RADIUS_M, math.pi) / 2.0)


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (haversine), elementwise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


# Row-wise dot product in one ufunc call (numpy >= 2); einsum on older numpy.
_row_dot: Callable[[np.ndarray, np.ndarray], np.ndarray] = getattr(
    np, "vecdot", lambda a, b: np.einsum("ij,ij->i", a, b))


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, position) for every position of the runs [lo[i], hi[i])."""
    n = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(lo)), n)
    pos = np.repeat(lo, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    return owner, pos


class BuildingIndex:
    """Geocoded buildings with at least one active unit, for nearest-building queries."""

    def __init__(self, keys: np.ndarray, xyz: np.ndarray, building: np.ndarray, building_id: np.ndarray,
                 b_lat: np.ndarray, b_lon: np.ndarray, unit_offsets: np.ndarray, units: np.ndarray,
                 unit_postcodes: np.ndarray) -> None:
        self._key = keys
        self._xyz = xyz
        self.building = building  # building row (image order) of each position
        self._b_id, self._b_lat, self._b_lon = building_id, b_lat, b_lon
        self._u_off, self._units, self._u_postcode = unit_offsets, units, unit_postcodes
        self._first_row = int(keys[0] // _CELLS_PER_ROW) if len(keys) else 0
        n_rows = int(keys[-1] // _CELLS_PER_ROW) - self._first_row + 1 if len(keys) else 0
        row_keys = (np.arange(n_rows + 1, dtype=np.int64) + self._first_row) * _CELLS_PER_ROW
        self._row_start = keys.searchsorted(row_keys).astype(np.int64)
        # Memoryviews hand out one element as a plain int or float, without numpy's scalar machinery.
        self._key_mv = np.ascontiguousarray(keys).data
        self._row_start_mv = self._row_start.data
        self._xyz_mv = np.ascontiguousarray(xyz).reshape(-1).data  # x, y, z of position t at 3t .. 3t + 2
        self._building_mv = np.ascontiguousarray(building).data
        self._offsets_mv = unit_offsets.data
        self._units_arr = units

    @classmethod
    def from_image(cls, image: ReadImage) -> BuildingIndex:
        """The reverse grid of a read image."""
        a = image.array
        b = a("buildings/rows")
        return cls(a("reverse/key"), a("reverse/xyz"), a("reverse/building"), b["id"], b["lat"], b["lon"],
                   a("units/active_offsets"), a("units/active"), a("units/postcode"))

    def __len__(self) -> int:
        return len(self._key)

    # -- per-position facts (gathered for answers, never held per worker) ---------------------------

    @cached_property
    def lats(self) -> np.ndarray:
        """Latitude of each position (made on first use: tests and tools, not the answering paths)."""
        return self._b_lat[self.building]

    @cached_property
    def lons(self) -> np.ndarray:
        """Longitude of each position (made on first use)."""
        return self._b_lon[self.building]

    def building_ids(self, rows: np.ndarray) -> np.ndarray:
        """Building id of each position."""
        return self._b_id[self.building[rows]]

    def first_postcode(self, rows: np.ndarray) -> np.ndarray:
        """The lowest active postcode of each position's building (0 for -1 = no building)."""
        rows = np.asarray(rows)
        out = np.zeros(rows.shape, dtype=np.int64)
        ok = rows >= 0
        out[ok] = self._u_postcode[self._units[self._u_off[self.building[rows[ok]]]]]
        return out

    def postcodes_of(self, row: int) -> list[str]:
        """All active postcodes of one position's building, as 10-digit text."""
        return list(self.row_fields(row)[3])

    def row_fields(self, row: int) -> tuple[int, float, float, tuple[str, ...]]:
        """Building id, lat, lon and active postcodes (10-digit text, ascending) of one position."""
        offsets = self._offsets_mv
        b = self._building_mv[row]
        units = self._units_arr[offsets[b]:offsets[b + 1]]
        return (int(self._b_id[b]), float(self._b_lat[b]), float(self._b_lon[b]),
                tuple(map(from_int, self._u_postcode[units].tolist())))

    # -- one point ---------------------------------------------------------------------------------

    def nearest_one(self, lat: float, lon: float, k: int = 1, radius_m: float = np.inf) -> list[tuple[int, float]]:
        """(row, metres) of up to k nearest buildings within radius_m of one finite point, nearest first."""
        if len(self) == 0 or k < 1:
            return []
        la, lo = math.radians(lat), math.radians(lon)
        cos_la = math.cos(la)
        q = (cos_la * math.cos(lo), cos_la * math.sin(lo), math.sin(la))
        if math.isfinite(radius_m):
            found = self._nearest_in_cells(lat, lon, q, k, radius_m)
        else:  # no bound: grow a bounded search until it holds k buildings (or the whole country)
            r = 1000.0
            while True:
                found = self._nearest_in_cells(lat, lon, q, k, r)
                if len(found) >= k or r > 4_000_000:
                    break
                r *= 4
            if len(found) < k:
                found = self._nearest_in_cells(lat, lon, q, k, 20_000_000)
        return [(r, 2.0 * EARTH_RADIUS_M * math.asin(min(c / 2.0, 1.0))) for r, c in found]

    def _nearest_in_cells(self, lat: float, lon: float, q: tuple[float, float, float], k: int,
                          radius_m: float) -> list[tuple[int, float]]:
        """The k nearest (row, chord) within ``radius_m`` from the cell grid."""
        bound = metres_to_chord(radius_m)
        theta = min(radius_m / EARTH_RADIUS_M, math.pi)
        # Every point within theta lies within these degree offsets (the widest longitude span of a spherical
        # cap is asin(sin θ / cos φ)); a relative margin keeps rounding from ever cutting off a building.
        dlat = theta * _DEGREES * 1.001 + 1e-9
        cos_lat = math.cos(lat * _RADIANS)
        sin_theta = math.sin(theta)
        if theta >= math.pi / 2 or cos_lat - sin_theta <= 0.01:
            dlon = 180.0  # near a pole or a huge radius: every column
        else:
            dlon = min(math.asin(sin_theta / cos_lat) * _DEGREES * 1.001 + 1e-9, 180.0)
        first = self._first_row
        j0 = max(math.floor((lat - dlat + 90.0) * _CELLS_PER_DEGREE), first)
        j1 = min(math.floor((lat + dlat + 90.0) * _CELLS_PER_DEGREE), first + len(self._row_start) - 2)
        col_ranges = []
        c0 = math.floor((lon - dlon + 180.0) * _CELLS_PER_DEGREE)
        c1 = math.floor((lon + dlon + 180.0) * _CELLS_PER_DEGREE)
        last_col = 360 * int(_CELLS_PER_DEGREE)
        if c0 < 0 or c1 > last_col or dlon >= 180.0:  # across the antimeridian, or everything
            col_ranges.append((0, last_col + 1))
        else:
            col_ranges.append((c0, c1 + 1))
        keys, row_start = self._key_mv, self._row_start_mv
        spans = []
        total = 0
        for j in range(j0, j1 + 1):
            lo, hi = row_start[j - first], row_start[j - first + 1]
            if lo >= hi:
                continue
            for a_col, b_col in col_ranges:
                key = j * _CELLS_PER_ROW + a_col * _PER_CELL
                a = bisect_left(keys, key, lo, hi)
                b = bisect_left(keys, j * _CELLS_PER_ROW + b_col * _PER_CELL, a, hi)
                if a < b:
                    spans.append((a, b))
                    total += b - a
        if not spans:
            return []
        slack = bound * (1 + 1e-9)  # a building at exactly radius_m is not lost to rounding in the chord
        if total <= _PLAIN_PYTHON_MAX:
            found = self._nearest_plain(spans, q, k)
        else:
            found = self._nearest_numpy(spans, q, k)
        return [(r, c) for r, c in ((r, math.sqrt(c2)) for c2, r in found) if c < slack]

    def _nearest_plain(self, spans: list[tuple[int, int]], q: tuple[float, float, float], k: int
                       ) -> list[tuple[float, int]]:
        """(squared chord, row) of the k nearest in the spans, by a plain loop: for a few dozen candidates it is
        faster than any numpy call (each costs ~1 µs, and more with its code evicted from the cache)."""
        xyz, qx, qy, qz = self._xyz_mv, q[0], q[1], q[2]
        if k == 1:
            best, at = math.inf, -1
            for a, b in spans:
                for t in range(a, b):
                    o = 3 * t
                    dx, dy, dz = xyz[o] - qx, xyz[o + 1] - qy, xyz[o + 2] - qz
                    c2 = dx * dx + dy * dy + dz * dz
                    if c2 < best:  # strict: the first of equals (the lower row) wins, as on the numpy path
                        best, at = c2, t
            return [(best, at)]
        cands = []
        for a, b in spans:
            for t in range(a, b):
                o = 3 * t
                dx, dy, dz = xyz[o] - qx, xyz[o + 1] - qy, xyz[o + 2] - qz
                cands.append((dx * dx + dy * dy + dz * dz, t))
        cands.sort()  # equal distances by row
        return cands[:k]

    def _nearest_numpy(self, spans: list[tuple[int, int]], q: tuple[float, float, float], k: int
                       ) -> list[tuple[float, int]]:
        """(squared chord, row) of the k nearest in the spans, vectorised (for dense areas)."""
        at = np.concatenate([np.arange(a, b) for a, b in spans])
        d = self._xyz[at] - q
        chord2 = _row_dot(d, d)
        if k == 1:
            best = int(np.lexsort((at, chord2))[0])
            return [(float(chord2[best]), int(at[best]))]
        order = np.lexsort((at, chord2))[:k]  # nearest first, equal distances by row
        return list(zip(chord2[order].tolist(), at[order].tolist(), strict=True))

    # -- many points ---------------------------------------------------------------------------------

    def nearest(self, lats: np.ndarray, lons: np.ndarray, radius_m: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Row (-1 = none) and distance in metres (inf = none) of the nearest building to each finite point."""
        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        n = len(lats)
        rows = np.full(n, -1, dtype=np.int64)
        metres = np.full(n, np.inf)
        if len(self) == 0 or n == 0:
            return rows, metres
        # In cell order: neighbouring points read the same runs, which keeps them in cache.
        order = np.argsort(cell_keys(lats, lons), kind="stable")
        for s in range(0, n, _BATCH_POINTS):
            sel = order[s:s + _BATCH_POINTS]
            r, m = self._nearest_batch(lats[sel], lons[sel], radius_m)
            rows[sel], metres[sel] = r, m
        return rows, metres

    def _nearest_batch(self, lat: np.ndarray, lon: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        n = len(lat)
        q = unit_vectors(lat, lon)
        best_c2 = np.full(n, np.inf)
        best_pos = np.full(n, -1, dtype=np.int64)
        fy = (lat + 90.0) * _CELLS_PER_DEGREE
        fx = (lon + 180.0) * _CELLS_PER_DEGREE
        j, i = np.floor(fy).astype(np.int64), np.floor(fx).astype(np.int64)
        cos_lat = np.maximum(np.cos(np.radians(lat)), 0.05)
        # First each point's own sub-cell (a sixteenth of a cell: most points near a building are settled there),
        # then boxes of ±half cells, half doubling.
        sub_y, sub_x = fy * SUBCELLS, fx * SUBCELLS
        fine = (j * CELLS_PER_ROW + i) * _PER_CELL + (np.floor(sub_y - j * SUBCELLS) * SUBCELLS
                                                      + np.floor(sub_x - i * SUBCELLS)).astype(np.int64)
        lo = np.searchsorted(self._key, fine)
        hi = np.searchsorted(self._key, fine + 1)
        self._settle(np.arange(n), lo, hi, q, best_c2, best_pos)
        sy, sx = np.floor(sub_y), np.floor(sub_x)
        edge = np.minimum.reduce([sub_y - sy, sy + 1 - sub_y, (sub_x - sx) * cos_lat, (sx + 1 - sub_x) * cos_lat])
        found_m = chord_to_metres(np.sqrt(best_c2))
        pending = np.flatnonzero((found_m > edge * _CELL_M / SUBCELLS * 0.999) & (edge * _CELL_M / SUBCELLS < radius_m))
        half = 1
        while len(pending):
            p = pending
            # A box of ±half cell rows, and ±half_c columns of about the same width in metres.
            half_c = np.ceil(half / cos_lat[p] - 1e-9).astype(np.int64)
            offs = np.arange(-half, half + 1)
            rr = (j[p][:, None] + offs[None, :]).ravel()
            owner = np.repeat(p, len(offs))
            hc = np.repeat(half_c, len(offs))
            ci = np.repeat(i[p], len(offs))
            ri = rr - self._first_row
            ok = (ri >= 0) & (ri < len(self._row_start) - 1)
            rr, owner, hc, ci, ri = rr[ok], owner[ok], hc[ok], ci[ok], ri[ok]
            row_lo, row_hi = self._row_start[ri], self._row_start[ri + 1]
            base = rr * _CELLS_PER_ROW
            lo = np.maximum(np.searchsorted(self._key, base + (ci - hc) * _PER_CELL), row_lo)
            hi = np.minimum(np.searchsorted(self._key, base + (ci + hc + 1) * _PER_CELL), row_hi)
            self._settle(owner, lo, hi, q, best_c2, best_pos)
            # The box's nearest edge: nothing outside it is nearer than this.
            edge_cells = np.minimum.reduce([fy[p] - j[p] + half, j[p] + 1 - fy[p] + half,
                                            (fx[p] - i[p] + half_c) * cos_lat[p],
                                            (i[p] + 1 - fx[p] + half_c) * cos_lat[p]])
            covered = edge_cells * _CELL_M * 0.999
            found_m = chord_to_metres(np.sqrt(best_c2[p]))
            done = (found_m <= covered) | (covered >= radius_m) | (half > 2 * len(self._row_start))
            pending = p[~done]
            half *= 2
        metres = chord_to_metres(np.sqrt(best_c2))
        bound = metres_to_chord(radius_m) * (1 + 1e-9) if math.isfinite(radius_m) else np.inf
        inside = np.sqrt(best_c2) < bound
        return np.where(inside, best_pos, -1), np.where(inside, metres, np.inf)

    def _settle(self, owner: np.ndarray, lo: np.ndarray, hi: np.ndarray, q: np.ndarray, best_c2: np.ndarray,
                best_pos: np.ndarray) -> None:
        """Keep in ``best_*`` each point's nearest among the positions of its runs [lo, hi) (``owner``: the point
        of each run; a point's runs consecutive, in position order)."""
        which, pos = _expand(lo, hi)
        if not len(pos):
            return
        # Candidates come grouped by point, positions ascending within: each point's nearest is a segment
        # minimum, and the first position at it is the lowest row (the tie rule).
        cand_pt = owner[which]
        d = self._xyz[pos] - q[cand_pt]
        c2 = _row_dot(d, d)
        starts = np.flatnonzero(np.r_[True, cand_pt[1:] != cand_pt[:-1]])
        pt = cand_pt[starts]
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(cand_pt)]))
        least = np.minimum.reduceat(c2, starts)
        at_least = np.flatnonzero(c2 == least[seg])
        first = at_least[np.r_[True, seg[at_least[1:]] != seg[at_least[:-1]]]]
        c2, pos = c2[first], pos[first]
        better = (c2 < best_c2[pt]) | ((c2 == best_c2[pt]) & (pos < best_pos[pt]))
        best_c2[pt[better]] = c2[better]
        best_pos[pt[better]] = pos[better]

    @property
    def nbytes(self) -> int:
        """Bytes of the mapped grid (shared by every worker)."""
        return int(self._key.nbytes + self._xyz.nbytes + self.building.nbytes)
