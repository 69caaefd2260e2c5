"""In-memory spatial index of geocoded buildings and their active units' postcodes.

Buildings are points on the unit sphere (3D unit vectors) in a scipy cKDTree: chord length is
monotonic in great-circle distance, so nearest-neighbour order is exact everywhere in Iran, which
one flat projection across 15° of latitude would not be. Unit postcodes sit in one int64 array
grouped by building (CSR: ``postcodes[offsets[i]:offsets[i + 1]]``), sorted within each building.

Single queries with a radius up to ~2.5 km do not use the tree: one ``cKDTree.query`` call costs
25–45 µs of Python-level set-up whatever the tree's size. The same unit vectors are also kept sorted by
a ~100 m lat/lon cell, so the buildings within the radius are one contiguous run per cell row (a
bisection within the row), and the same chord distances over those few dozen candidates (a plain loop,
numpy in dense areas) answer exactly. Batches use the tree.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable

import numpy as np

from jinef.registry.postcode import from_int
from jinef.store.base import RegistryReader

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
_CELLS_PER_DEGREE = 1024.0  # a power of two, so multiplying by it is exact
CELL_DEGREES = 1 / _CELLS_PER_DEGREE  # ~110 m of latitude: a 100 m radius spans 2-3 cell rows
_CELLS_PER_ROW = 360 * int(_CELLS_PER_DEGREE) + 1  # cell key = row * _CELLS_PER_ROW + column, from -90 / -180
_RADIANS, _DEGREES = math.pi / 180.0, 180.0 / math.pi
_PLAIN_PYTHON_MAX = 48  # candidates up to which a plain loop beats numpy (measured on the 2M registry)
_MAX_CELL_ROWS = int(_CELLS_PER_DEGREE) // 20  # a radius spanning more rows (> ~2.5 km) goes to the tree


def cell_keys(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The single-query grid's cell key of each point (int64)."""
    rows = np.floor((np.asarray(lats, dtype=np.float64) + 90.0) * _CELLS_PER_DEGREE).astype(np.int64)
    cols = np.floor((np.asarray(lons, dtype=np.float64) + 180.0) * _CELLS_PER_DEGREE).astype(np.int64)
    return rows * _CELLS_PER_ROW + cols


def unit_vectors(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors for points given in degrees."""
    la = np.radians(np.asarray(lats, dtype=np.float64))
    lo = np.radians(np.asarray(lons, dtype=np.float64))
    cos_la = np.cos(la)
    return np.column_stack((cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)))


def chord_to_metres(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres for chord lengths on the unit sphere (inf stays inf)."""
    chord = np.asarray(chord, dtype=np.float64)
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


def _position(spans: list[tuple[int, int]], i: int) -> int:
    """The sorted-array position of item i of the concatenated spans."""
    for a, b in spans:
        if i < b - a:
            return a + i
        i -= b - a
    raise IndexError(i)


class BuildingIndex:
    """Geocoded buildings with at least one active unit, for nearest-building queries."""

    def __init__(self, building_ids: np.ndarray, lats: np.ndarray, lons: np.ndarray,
                 offsets: np.ndarray, postcodes: np.ndarray) -> None:
        self.building_ids = building_ids
        self.lats = lats
        self.lons = lons
        self.offsets = offsets
        self.postcodes = postcodes
        # Imported here: scipy costs every `jinef` command (even `jinef build`) 0.3 s to load otherwise.
        from scipy.spatial import cKDTree

        xyz = unit_vectors(lats, lons)
        self.tree = cKDTree(xyz, leafsize=16, balanced_tree=False, compact_nodes=True)
        # The single-query grid: buildings sorted by cell, their unit vectors in that order (contiguous slices).
        keys = cell_keys(lats, lons)
        order = np.argsort(keys, kind="stable")
        self._cell_key = keys[order]
        self._cell_row = order.astype(np.int32 if len(order) < 2**31 else np.int64)
        self._cell_xyz = np.ascontiguousarray(xyz[order])
        # Where each cell row starts in the sorted keys (rows from the first building's on): a row's column
        # range is then a bisection within that row alone.
        self._first_row = int(self._cell_key[0] // _CELLS_PER_ROW) if len(keys) else 0
        n_rows = int(self._cell_key[-1] // _CELLS_PER_ROW) - self._first_row + 1 if len(keys) else 0
        row_keys = (np.arange(n_rows + 1, dtype=np.int64) + self._first_row) * _CELLS_PER_ROW
        self._row_start = self._cell_key.searchsorted(row_keys).astype(np.int64)
        # Memoryviews hand out one element as a plain int or float, without numpy's scalar machinery.
        self._key_mv = self._cell_key.data
        self._row_start_mv = self._row_start.data
        self._xyz_mv = self._cell_xyz.reshape(-1).data  # x, y, z of sorted position t at 3t, 3t + 1, 3t + 2
        self._row_mv = self._cell_row.data
        self._fields_mv = tuple(np.ascontiguousarray(a).data
                                for a in (building_ids, lats, lons, offsets, postcodes))

    @classmethod
    def from_reader(cls, reader: RegistryReader) -> BuildingIndex:
        """Build from a registry's building and unit columns (active units only)."""
        b = reader.columns("buildings", ["id", "lat", "lon"])
        u = reader.columns("units", ["building_id", "postcode", "status"])
        active = u["status"] == "active"
        unit_bid = u["building_id"][active]
        unit_pc = u["postcode"][active]
        del u
        # Group units by building, postcodes ascending inside each building.
        order = np.lexsort((unit_pc, unit_bid))
        unit_bid, unit_pc = unit_bid[order], unit_pc[order]
        bids, lats, lons = b["id"], b["lat"], b["lon"]
        keep = np.isfinite(lats) & np.isfinite(lons) & np.isin(bids, unit_bid)
        bids, lats, lons = bids[keep], lats[keep], lons[keep]  # ordered by id (columns() sorts)
        in_kept = np.isin(unit_bid, bids)
        unit_bid, unit_pc = unit_bid[in_kept], unit_pc[in_kept]
        counts = np.bincount(np.searchsorted(bids, unit_bid), minlength=len(bids))
        offsets = np.zeros(len(bids) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(bids.astype(np.int64), lats, lons, offsets, unit_pc.astype(np.int64))

    def __len__(self) -> int:
        return len(self.building_ids)

    def nearest(self, lats: np.ndarray, lons: np.ndarray, k: int = 1,
                radius_m: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Row indexes (len(self) = none) and distances in metres (inf = none) of the k nearest buildings.

        Shapes are (n,) for k == 1, else (n, k); inputs must be finite.
        """
        if len(self) == 0:
            shape = (len(lats),) if k == 1 else (len(lats), k)
            return np.full(shape, 0, dtype=np.intp), np.full(shape, np.inf)
        bound = metres_to_chord(radius_m) if np.isfinite(radius_m) else np.inf
        # A tiny slack so a building at exactly radius_m is not lost to rounding in the chord.
        lats, lons = np.asarray(lats, dtype=np.float64), np.asarray(lons, dtype=np.float64)
        # Query in ~1 km cell order: neighbouring queries walk the same tree nodes, which keeps them in cache.
        # An integer key so the stable sort is a radix sort (about twice as fast as sorting floats).
        key = (lats * 100).astype(np.int64) * 100_000 + (lons * 100).astype(np.int64)
        order = np.argsort(key, kind="stable")
        chord, idx = self.tree.query(unit_vectors(lats[order], lons[order]), k=k,
                                     distance_upper_bound=bound * (1 + 1e-9))
        out_idx, out_chord = np.empty_like(idx), np.empty_like(chord)
        out_idx[order], out_chord[order] = idx, chord
        return out_idx, chord_to_metres(out_chord)

    def nearest_one(self, lat: float, lon: float, k: int = 1, radius_m: float = np.inf) -> list[tuple[int, float]]:
        """(row, metres) of up to k nearest buildings within radius_m of one finite point, nearest first."""
        if len(self) == 0 or k < 1:
            return []
        la, lo = math.radians(lat), math.radians(lon)
        cos_la = math.cos(la)
        q = (cos_la * math.cos(lo), cos_la * math.sin(lo), math.sin(la))
        bound = metres_to_chord(radius_m) if math.isfinite(radius_m) else math.inf
        found = self._nearest_in_cells(lat, lon, q, k, radius_m, bound)
        if found is None:
            found = self._nearest_in_tree(q, k, bound)
        return [(r, 2.0 * EARTH_RADIUS_M * math.asin(min(c / 2.0, 1.0))) for r, c in found]

    def _nearest_in_tree(self, q: tuple[float, float, float], k: int, bound: float) -> list[tuple[int, float]]:
        chord, idx = self.tree.query(q, k=k, distance_upper_bound=bound * (1 + 1e-9))
        if k == 1:
            pairs = [(int(idx), float(chord))]
        else:
            pairs = list(zip(idx.tolist(), chord.tolist(), strict=True))
        return [(r, c) for r, c in pairs if math.isfinite(c)]

    def _nearest_in_cells(self, lat: float, lon: float, q: tuple[float, float, float], k: int, radius_m: float,
                          bound: float) -> list[tuple[int, float]] | None:
        """The k nearest (row, chord) from the cell grid, or None when the radius is too large for it."""
        theta = radius_m / EARTH_RADIUS_M  # angular radius; inf fails every test below
        if not theta < 0.01:
            return None
        # Every point within theta lies within these degree offsets (the widest longitude span of a spherical
        # cap is asin(sin θ / cos φ)); a relative margin keeps rounding from ever cutting off a building.
        sin_theta = math.sin(theta)
        cos_lat = math.cos(lat * _RADIANS)
        if cos_lat - sin_theta <= 0.01:
            return None  # too near a pole
        dlat = theta * _DEGREES * 1.001 + 1e-9
        dlon = math.asin(sin_theta / cos_lat) * _DEGREES * 1.001 + 1e-9
        if lon - dlon < -180.0 or lon + dlon >= 180.0:
            return None  # the box would wrap around the antimeridian
        first = self._first_row
        j0 = max(math.floor((lat - dlat + 90.0) * _CELLS_PER_DEGREE), first)
        j1 = min(math.floor((lat + dlat + 90.0) * _CELLS_PER_DEGREE), first + len(self._row_start) - 2)
        if j1 - j0 >= _MAX_CELL_ROWS:
            return None
        i0 = math.floor((lon - dlon + 180.0) * _CELLS_PER_DEGREE)
        width = math.floor((lon + dlon + 180.0) * _CELLS_PER_DEGREE) - i0 + 1
        # Per cell row one contiguous run of buildings: the keys [row start + i0, row start + i0 + width).
        keys, row_start = self._key_mv, self._row_start_mv
        spans = []
        total = 0
        for j in range(j0, j1 + 1):
            lo, hi = row_start[j - first], row_start[j - first + 1]
            if lo < hi:
                key = j * _CELLS_PER_ROW + i0
                a = bisect_left(keys, key, lo, hi)
                b = bisect_left(keys, key + width, a, hi)
                if a < b:
                    spans.append((a, b))
                    total += b - a
        if not spans:
            return []
        slack = bound * (1 + 1e-9)  # the tree's bound is strict with this slack: both paths agree
        if total <= _PLAIN_PYTHON_MAX:
            found = self._nearest_plain(spans, q, k)
        else:
            found = self._nearest_numpy(spans, total, q, k)
        # Squared chords ordered the pairs; the bound is tested on the chord itself, as the tree does.
        return [(r, c) for r, c in ((r, math.sqrt(c2)) for c2, r in found) if c < slack]

    def _nearest_plain(self, spans: list[tuple[int, int]], q: tuple[float, float, float], k: int
                       ) -> list[tuple[float, int]]:
        """(squared chord, row) of the k nearest in the spans, by a plain loop: for a few dozen candidates it is
        faster than any numpy call (each costs ~1 µs, and more with its code evicted from the cache)."""
        xyz, qx, qy, qz = self._xyz_mv, q[0], q[1], q[2]
        if k == 1:
            best, at = math.inf, -1
            for a, b in spans:
                for o in range(3 * a, 3 * b, 3):
                    dx, dy, dz = xyz[o] - qx, xyz[o + 1] - qy, xyz[o + 2] - qz
                    c2 = dx * dx + dy * dy + dz * dz
                    if c2 < best:  # strict: the first of equals wins, as argmin does on the numpy path
                        best, at = c2, o // 3
            return [(best, self._row_mv[at])]
        rows = self._row_mv
        cands = []
        for a, b in spans:
            for t in range(a, b):
                o = 3 * t
                dx, dy, dz = xyz[o] - qx, xyz[o + 1] - qy, xyz[o + 2] - qz
                cands.append((dx * dx + dy * dy + dz * dz, rows[t]))
        cands.sort()  # equal distances by row, as the numpy path
        return cands[:k]

    def _nearest_numpy(self, spans: list[tuple[int, int]], total: int, q: tuple[float, float, float], k: int
                       ) -> list[tuple[float, int]]:
        """(squared chord, row) of the k nearest in the spans, vectorised (for dense areas)."""
        xyz = self._cell_xyz
        block = xyz[spans[0][0]:spans[0][1]] if len(spans) == 1 else np.concatenate([xyz[a:b] for a, b in spans])
        d = block - q
        chord2 = _row_dot(d, d)
        if k == 1:
            best = int(chord2.argmin())
            return [(float(chord2[best]), self._row_mv[_position(spans, best)])]
        at = np.concatenate([np.arange(a, b) for a, b in spans])
        rows = self._cell_row[at]
        order = np.lexsort((rows, chord2))[:k]  # nearest first, equal distances by row
        return list(zip(chord2[order].tolist(), rows[order].tolist(), strict=True))

    def first_postcode(self, rows: np.ndarray) -> np.ndarray:
        """The lowest active postcode of each building row (0 for rows out of range = no building)."""
        rows = np.asarray(rows)
        valid = rows < len(self)
        out = np.zeros(rows.shape, dtype=np.int64)
        out[valid] = self.postcodes[self.offsets[rows[valid]]]
        return out

    def postcodes_of(self, row: int) -> list[str]:
        """All active postcodes of one building row, as 10-digit text."""
        return list(self.row_fields(row)[3])

    def row_fields(self, row: int) -> tuple[int, float, float, tuple[str, ...]]:
        """Building id, lat, lon and active postcodes (10-digit text, ascending) of one row, as plain Python values."""
        ids, lats, lons, offsets, postcodes = self._fields_mv
        return ids[row], lats[row], lons[row], tuple(map(from_int, postcodes[offsets[row]:offsets[row + 1]].tolist()))

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the index (arrays plus the tree's data and nodes)."""
        arrays = sum(a.nbytes for a in (self.building_ids, self.lats, self.lons, self.offsets, self.postcodes))
        tree = self.tree.data.nbytes + self.tree.indices.nbytes
        grid = self._cell_key.nbytes + self._cell_row.nbytes + self._cell_xyz.nbytes
        # cKDTree nodes are ~56 bytes each plus their bounds; about n / leafsize * 2 nodes.
        nodes = (2 * len(self) // 16 + 1) * (56 + 6 * 8)
        return int(arrays + tree + grid + nodes)
