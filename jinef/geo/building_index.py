"""In-memory spatial index of geocoded buildings and their active units' postcodes.

Buildings are points on the unit sphere (3D unit vectors) in a scipy cKDTree: chord length is
monotonic in great-circle distance, so nearest-neighbour order is exact everywhere in Iran, which
one flat projection across 15° of latitude would not be. Unit postcodes sit in one int64 array
grouped by building (CSR: ``postcodes[offsets[i]:offsets[i + 1]]``), sorted within each building.
"""

from __future__ import annotations

import math

import numpy as np

from jinef.registry.postcode import from_int
from jinef.store.base import RegistryReader

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


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
    return float(2.0 * np.sin(min(metres / EARTH_RADIUS_M, np.pi) / 2.0))


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (haversine), elementwise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


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

        self.tree = cKDTree(unit_vectors(lats, lons), leafsize=16, balanced_tree=False, compact_nodes=True)

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
        if len(self) == 0:
            return []
        bound = metres_to_chord(radius_m) if math.isfinite(radius_m) else math.inf
        la, lo = math.radians(lat), math.radians(lon)
        cos_la = math.cos(la)
        # A plain 3-vector: no array construction beyond what cKDTree itself needs.
        chord, idx = self.tree.query((cos_la * math.cos(lo), cos_la * math.sin(lo), math.sin(la)), k=k,
                                     distance_upper_bound=bound * (1 + 1e-9))
        if k == 1:
            pairs = [(int(idx), float(chord))]
        else:
            pairs = list(zip(idx.tolist(), chord.tolist(), strict=True))
        return [(r, 2.0 * EARTH_RADIUS_M * math.asin(min(c / 2.0, 1.0))) for r, c in pairs if math.isfinite(c)]

    def first_postcode(self, rows: np.ndarray) -> np.ndarray:
        """The lowest active postcode of each building row (0 for rows out of range = no building)."""
        rows = np.asarray(rows)
        valid = rows < len(self)
        out = np.zeros(rows.shape, dtype=np.int64)
        out[valid] = self.postcodes[self.offsets[rows[valid]]]
        return out

    def postcodes_of(self, row: int) -> list[str]:
        """All active postcodes of one building row, as 10-digit text."""
        return [from_int(int(p)) for p in self.postcodes[self.offsets[row]:self.offsets[row + 1]]]

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the index (arrays plus the tree's data and nodes)."""
        arrays = sum(a.nbytes for a in (self.building_ids, self.lats, self.lons, self.offsets, self.postcodes))
        tree = self.tree.data.nbytes + self.tree.indices.nbytes
        # cKDTree nodes are ~56 bytes each plus their bounds; about n / leafsize * 2 nodes.
        nodes = (2 * len(self) // 16 + 1) * (56 + 6 * 8)
        return int(arrays + tree + nodes)
