"""Reverse geocoding's answers corrected by the units changed since the read image (the change overlay).

A changed building (new, moved, given or losing units) is placed where the overlay says and carries its
changed units' postcodes merged with the image's; a retired postcode is never answered. Points and batches
ask a k-d tree of the changed buildings, made once per applied change batch.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import numpy as np

from jinef.read.registry.overlay import Overlay

Codes = Callable[[int], tuple[str, ...]]  # a building's active postcodes in the image (by building id)


def merged_codes(overlay: Overlay, building_id: int, image_codes: tuple[str, ...]) -> tuple[str, ...]:
    """The building's active postcodes now: the image's less those changed away or retired, plus its changed."""
    units = overlay.units
    codes = {p for p in image_codes if (a := units.get(int(p))) is None
             or (a.status == "active" and a.building_id == building_id)}
    codes.update(a.postcode for a in overlay.buildings.get(building_id, {}).values() if a.status == "active")
    return tuple(sorted(codes))


class _ChangedPoints:
    """Changed buildings with an active unit and a point, in a k-d tree (degrees, longitude scaled to the mean
    latitude), made once per applied change batch: a query then costs a tree lookup, not a pass over the day's
    changes."""

    def __init__(self, overlay: Overlay) -> None:
        from scipy.spatial import cKDTree

        self.seq = overlay.seq
        ids, lats, lons = [], [], []
        for building_id, units in list(overlay.buildings.items()):
            a = next((u for u in list(units.values())
                      if u.status == "active" and u.lat is not None and u.lon is not None), None)
            if a is not None:
                ids.append(building_id)
                lats.append(a.lat)
                lons.append(a.lon)
        self.ids = np.array(ids, dtype=np.int64)
        self.lats = np.array(lats, dtype=np.float64)
        self.lons = np.array(lons, dtype=np.float64)
        self.k = math.cos(math.radians(float(self.lats.mean()))) if ids else 1.0
        self.tree = cKDTree(np.column_stack([self.lats, self.lons * self.k])) if ids else None

    def reach(self, radius_m: float) -> float:
        """A search radius in the tree's units that surely holds every point within ``radius_m``."""
        return radius_m / 111_000.0 * 1.5


_POINTS: weakref.WeakKeyDictionary[Overlay, _ChangedPoints] = weakref.WeakKeyDictionary()


def _points(overlay: Overlay) -> _ChangedPoints:
    points = _POINTS.get(overlay)
    if points is None or points.seq != overlay.seq:
        points = _POINTS[overlay] = _ChangedPoints(overlay)
    return points


def changed_within(overlay: Overlay, lat: float, lon: float, radius_m: float) -> list[tuple[float, int]]:
    """(metres, building id) of the changed buildings within ``radius_m`` of one point, nearest first."""
    p = _points(overlay)
    if p.tree is None:
        return []
    j = np.array(p.tree.query_ball_point((lat, lon * p.k), p.reach(radius_m)), dtype=np.int64)
    if not len(j):
        return []
    d = _metres(np.full(len(j), lat), np.full(len(j), lon), p.lats[j], p.lons[j])
    near = d <= radius_m
    return sorted(zip(d[near].tolist(), p.ids[j[near]].tolist(), strict=True))


def nearest_changed(overlay: Overlay, lats: np.ndarray, lons: np.ndarray,
                    radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the nearest changed building within ``radius_m`` (id, -1 for none) and its distance."""
    n = len(lats)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    p = _points(overlay)
    if p.tree is None or not n:
        return best, dist
    ok = np.flatnonzero(np.isfinite(lats) & np.isfinite(lons))
    _, j = p.tree.query(np.column_stack([lats[ok], lons[ok] * p.k]), k=1, distance_upper_bound=p.reach(radius_m))
    hit = j < len(p.ids)
    ok, j = ok[hit], j[hit]
    d = _metres(lats[ok], lons[ok], p.lats[j], p.lons[j])  # the tree's nearest, measured exactly
    near = d <= radius_m
    best[ok[near]] = p.ids[j[near]]
    dist[ok[near]] = d[near]
    return best, dist


def _metres(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    return np.asarray(6_371_000.0 * np.hypot(x, np.radians(lat2 - lat1)))


def first_postcode(codes: tuple[str, ...]) -> int:
    """The lowest active postcode as an integer, 0 for none."""
    return int(codes[0]) if codes else 0
