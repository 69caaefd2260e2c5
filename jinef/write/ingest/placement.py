"""Placing localities inside the real county and province polygons.

Every generated point must lie inside its county's polygon and its province's polygon. A
locality's centre is moved inside when the real coordinates fall outside (the sources differ
in places), and its radius is cut to stay clear of both boundaries, so every point generated
within the radius is inside by construction; a vectorised check guards the result.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

KM_PER_DEG = 111.32


@dataclass
class Region:
    """Where a county's points may go: inside the county polygon and the province polygon."""

    county: BaseGeometry
    province: BaseGeometry

    def __post_init__(self) -> None:
        shapely.prepare(self.county)
        shapely.prepare(self.province)
        self._boundaries = (self.county.boundary, self.province.boundary)
        for b in self._boundaries:
            shapely.prepare(b)
        minx, miny, maxx, maxy = self.county.bounds
        self.bounds = (minx, miny, maxx, maxy)
        self._fallback: tuple[float, float] | None = None

    def _fallback_point(self) -> tuple[float, float]:
        """A point inside both polygons, computed once per region (an intersection takes milliseconds)."""
        if self._fallback is None:
            rp = shapely.intersection(self.county, self.province).representative_point()
            self._fallback = (float(rp.x), float(rp.y))
        return self._fallback

    @property
    def area_km2(self) -> float:
        """The county polygon's area in km² (at its middle latitude's scale)."""
        lat = (self.bounds[1] + self.bounds[3]) / 2
        return float(self.county.area) * KM_PER_DEG**2 * math.cos(math.radians(lat))

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Vectorised: which points are inside both polygons (on the boundary counts as outside)."""
        return shapely.contains_xy(self.county, lon, lat) & shapely.contains_xy(self.province, lon, lat)

    def clear_inside(self, lon: np.ndarray, lat: np.ndarray, reach_deg: float) -> np.ndarray:
        """Vectorised: which points are inside both polygons and farther than ``reach_deg`` from both boundaries.

        Every point within ``reach_deg`` (in degrees) of such a point is inside both polygons too.
        """
        ok = self.contains(lon, lat)
        idx = np.flatnonzero(ok)
        if len(idx):
            pts = shapely.points(lon[idx], lat[idx])
            near = shapely.dwithin(self._boundaries[0], pts, reach_deg)
            near |= shapely.dwithin(self._boundaries[1], pts, reach_deg)
            ok[idx[near]] = False
        return ok

    def clearance_km(self, lon: float, lat: float, enough_km: float = math.inf) -> float:
        """Distance in km from an inside point to the nearest boundary (a lower bound).

        With ``enough_km``, answers ``enough_km`` as soon as the boundaries are known to be farther
        than that: a prepared ``dwithin`` test is much cheaper than an exact distance.
        """
        p = Point(lon, lat)
        km_per_deg = KM_PER_DEG * math.cos(math.radians(lat))  # the shorter degree: stay safe
        if math.isfinite(enough_km):
            if not any(shapely.dwithin(b, p, enough_km / km_per_deg) for b in self._boundaries):
                return enough_km
        d = min(shapely.distance(b, p) for b in self._boundaries)
        return float(d) * km_per_deg

    def inside_point(self, lon: float, lat: float, rng: random.Random) -> tuple[float, float]:
        """The given point if inside, else the nearest of random samples around it that is."""
        if self.contains(np.array([lon]), np.array([lat]))[0]:
            return lon, lat
        for radius in (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
            angles = np.array([rng.random() * 2 * math.pi for _ in range(64)])
            dists = np.array([radius * math.sqrt(rng.random()) for _ in range(64)])
            xs = lon + dists * np.cos(angles)
            ys = lat + dists * np.sin(angles)
            ok = self.contains(xs, ys)
            if ok.any():
                i = int(np.argmin(np.where(ok, dists, np.inf)))
                return float(xs[i]), float(ys[i])
        return self._fallback_point()

    def random_point(self, rng: random.Random) -> tuple[float, float]:
        """A uniformly random inside point (rejection sampling in the county's bounding box)."""
        minx, miny, maxx, maxy = self.bounds
        for _ in range(200):
            xs = np.array([minx + rng.random() * (maxx - minx) for _ in range(32)])
            ys = np.array([miny + rng.random() * (maxy - miny) for _ in range(32)])
            ok = self.contains(xs, ys)
            if ok.any():
                i = int(np.argmax(ok))
                return float(xs[i]), float(ys[i])
        return self._fallback_point()
