"""Reverse geocoding's answers corrected by the units changed since the read image (the change overlay).

A changed building (new, moved, given or losing units) is placed where the overlay says and carries its
changed units' postcodes merged with the image's; a retired postcode is never answered. The overlay is small,
so a single point checks every changed building; a batch asks a k-d tree of them once for all its points.
"""

from __future__ import annotations

import math
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


def changed_points(overlay: Overlay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(building ids, lats, lons) of changed buildings with an active unit and a point."""
    ids, lats, lons = [], [], []
    for building_id, units in list(overlay.buildings.items()):
        a = next((u for u in units.values() if u.status == "active" and u.lat is not None and u.lon is not None),
                 None)
        if a is not None:
            ids.append(building_id)
            lats.append(a.lat)
            lons.append(a.lon)
    return np.array(ids, dtype=np.int64), np.array(lats, dtype=np.float64), np.array(lons, dtype=np.float64)


def nearest_changed(overlay: Overlay, lats: np.ndarray, lons: np.ndarray,
                    radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the nearest changed building within ``radius_m`` (id, -1 for none) and its distance."""
    from scipy.spatial import cKDTree

    n = len(lats)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    ids, blat, blon = changed_points(overlay)
    if not len(ids) or not n:
        return best, dist
    # Degrees scaled to metres at the changed buildings' mean latitude for the tree; the nearest one is then
    # measured exactly.
    k = math.cos(math.radians(float(blat.mean())))
    tree = cKDTree(np.column_stack([blat, blon * k]))
    ok = np.flatnonzero(np.isfinite(lats) & np.isfinite(lons))
    _, j = tree.query(np.column_stack([lats[ok], lons[ok] * k]), k=1, distance_upper_bound=radius_m / 111_000.0 * 1.5)
    hit = j < len(ids)
    ok, j = ok[hit], j[hit]
    d = _metres(lats[ok], lons[ok], blat[j], blon[j])
    near = d <= radius_m
    best[ok[near]] = ids[j[near]]
    dist[ok[near]] = d[near]
    return best, dist


def _metres(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    return np.asarray(6_371_000.0 * np.hypot(x, np.radians(lat2 - lat1)))


def first_postcode(codes: tuple[str, ...]) -> int:
    """The lowest active postcode as an integer, 0 for none."""
    return int(codes[0]) if codes else 0
