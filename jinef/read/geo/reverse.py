"""Reverse geocoding: a point → the nearest registered buildings, their postcodes, province and county.

Answers carry a status:

- ``ok``: at least one building within the radius;
- ``no_building_within_radius``: inside Iran, province and county given, no building near enough;
- ``outside_iran``: in no province or county polygon (abroad or at sea); no building search is made;
- ``invalid``: a coordinate is not a number or out of range (the reason says which).

The Plus Code answered is the code of the *query point* (defined even where no building is near).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from jinef.image.folder import ReadImage
from jinef.model.postcode import from_int
from jinef.read.geo.admin import NO_AREA, AdminIndex, Area, admin_from_image
from jinef.read.geo.building_index import BuildingIndex
from jinef.read.geo.changed_buildings import changed_within, first_postcode, merged_codes, nearest_changed
from jinef.read.geo.plus_codes import encode, encode_many_bytes
from jinef.read.registry.overlay import Overlay

DEFAULT_RADIUS_M = 100.0
DEFAULT_LIMIT = 5

OK = "ok"
NO_BUILDING = "no_building_within_radius"
OUTSIDE = "outside_iran"
INVALID = "invalid"
STATUSES: tuple[str, ...] = (OK, NO_BUILDING, OUTSIDE, INVALID)  # batch status codes index this

REASONS: tuple[str, ...] = ("", "lat_not_a_number", "lon_not_a_number", "lat_out_of_range", "lon_out_of_range")


def coordinate_reasons(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Index into :data:`REASONS` per point (0 = the coordinates are usable)."""
    reason = np.zeros(len(lats), dtype=np.int8)
    # Later checks overwrite earlier ones only where no reason was found yet, so the first failing rule wins.
    for code, bad in ((4, ~(np.abs(lons) <= 180)), (3, ~(np.abs(lats) <= 90)),
                      (2, ~np.isfinite(lons)), (1, ~np.isfinite(lats))):
        reason[bad] = code
    return reason


def coordinate_reason(lat: float, lon: float) -> int:
    """Index into :data:`REASONS` for one point, the same first-failing rule as :func:`coordinate_reasons`."""
    if not math.isfinite(lat):
        return 1
    if not math.isfinite(lon):
        return 2
    if not abs(lat) <= 90:
        return 3
    if not abs(lon) <= 180:
        return 4
    return 0


@dataclass(frozen=True, slots=True)
class BuildingMatch:
    """One building near the query point."""

    building_id: int
    lat: float
    lon: float
    distance_m: float
    postcodes: tuple[str, ...]  # its active units' postcodes, ascending

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"building_id": self.building_id, "lat": self.lat, "lon": self.lon,
                "distance_m": round(self.distance_m, 2), "postcodes": list(self.postcodes)}


@dataclass(frozen=True, slots=True)
class ReverseResult:
    """The answer for one point."""

    lat: float
    lon: float
    status: str
    reason: str | None = None
    province: Area | None = None
    county: Area | None = None
    plus_code: str | None = None
    buildings: tuple[BuildingMatch, ...] = field(default_factory=tuple)

    @property
    def postcode(self) -> str | None:
        """The nearest building's lowest active postcode, if any."""
        return self.buildings[0].postcodes[0] if self.buildings else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"lat": self.lat, "lon": self.lon, "status": self.status, "reason": self.reason,
                "province": self.province.as_dict() if self.province else None,
                "county": self.county.as_dict() if self.county else None,
                "plus_code": self.plus_code, "postcode": self.postcode,
                "buildings": [b.as_dict() for b in self.buildings]}


@dataclass
class ReverseBatch:
    """Answers for many points as parallel arrays (nearest building only)."""

    status: np.ndarray  # int8 index into STATUSES
    reason: np.ndarray  # int8 index into REASONS
    building_row: np.ndarray  # row (position) in the building index; -1 = none
    building_id: np.ndarray  # int64; -1 = none
    postcode: np.ndarray  # int64 lowest active postcode of the building; 0 = none
    distance_m: np.ndarray  # float64; NaN = none
    province: np.ndarray  # int32 index into province_areas; -1 = none
    county: np.ndarray  # int32 index into county_areas; -1 = none
    plus_code: np.ndarray  # S11 bytes; b"" for invalid points
    province_areas: list[Area]
    county_areas: list[Area]

    def __len__(self) -> int:
        return len(self.status)

    def postcode_text(self) -> list[str]:
        """Postcodes as 10-digit text ('' = none)."""
        return [from_int(int(p)) if p else "" for p in self.postcode]

    def province_names(self) -> list[str]:
        """Province names ('' = none)."""
        names = [a.name for a in self.province_areas] + [""]
        return [names[i] for i in self.province]

    def county_names(self) -> list[str]:
        """County names, OSM names for counties not in the divisions list ('' = none)."""
        names = [a.name for a in self.county_areas] + [""]
        return [names[i] for i in self.county]


class ReverseGeocoder:
    """Point → nearest buildings and postcodes, province and county, from a read image."""

    def __init__(self, buildings: BuildingIndex, admin: AdminIndex, overlay: Overlay | None = None) -> None:
        self.buildings = buildings
        self.admin = admin
        self.overlay = overlay  # units changed since the image, answered on top of it

    @classmethod
    def from_image(cls, image: ReadImage, overlay: Overlay | None = None) -> ReverseGeocoder:
        """The reverse geocoder of a read image (its building grid and admin polygons) and the changes since."""
        return cls(BuildingIndex.from_image(image), admin_from_image(image), overlay)

    def reverse(self, lat: float, lon: float, radius_m: float = DEFAULT_RADIUS_M,
                limit: int = DEFAULT_LIMIT) -> ReverseResult:
        """The up to ``limit`` nearest buildings within ``radius_m`` of one point, nearest first."""
        # Scalar fast path: no arrays sized for batches; the same rules as reverse_many.
        reason = coordinate_reason(lat, lon)
        if reason:
            return ReverseResult(lat, lon, INVALID, REASONS[reason])
        p, c = self.admin.locate_one(lat, lon)
        plus = encode(lat, lon)
        if p == NO_AREA and c == NO_AREA:
            return ReverseResult(lat, lon, OUTSIDE, None, None, None, plus)
        province = self.admin.province_areas[p] if p != NO_AREA else None
        county = self.admin.county_areas[c] if c != NO_AREA else None
        b = self.buildings
        found = []
        for r, d in b.nearest_one(lat, lon, k=max(limit, 1), radius_m=radius_m)[:limit]:
            bid, blat, blon, codes = b.row_fields(r)
            found.append(BuildingMatch(bid, blat, blon, d, codes))
        if self.overlay is not None and len(self.overlay):
            found = self._with_changes(found, lat, lon, radius_m, limit)
        matches = tuple(found)
        return ReverseResult(lat, lon, OK if matches else NO_BUILDING, None, province, county, plus, matches)

    def _with_changes(self, found: list[BuildingMatch], lat: float, lon: float, radius_m: float,
                      limit: int) -> list[BuildingMatch]:
        """The image's nearest buildings corrected by the overlay: moved, new, with units added or retired."""
        overlay = self.overlay
        assert overlay is not None
        out: dict[int, BuildingMatch] = {}
        for m in found:
            if m.building_id not in overlay.buildings:
                out[m.building_id] = m
                continue
            codes = merged_codes(overlay, m.building_id, m.postcodes)
            if codes:
                out[m.building_id] = BuildingMatch(m.building_id, m.lat, m.lon, m.distance_m, codes)
        for d, building_id in changed_within(overlay, lat, lon, radius_m):
            old = out.get(building_id)
            codes = merged_codes(overlay, building_id, old.postcodes if old else ())
            a = next(u for u in overlay.buildings[building_id].values() if u.status == "active")
            out[building_id] = BuildingMatch(building_id, a.lat or lat, a.lon or lon, d, codes)
        return sorted((m for m in out.values() if m.postcodes), key=lambda m: m.distance_m)[:limit]

    def reverse_many(self, lats: np.ndarray, lons: np.ndarray, radius_m: float = DEFAULT_RADIUS_M) -> ReverseBatch:
        """The nearest building within ``radius_m`` for each point, vectorised; invalid points never raise."""
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        n = len(lat)
        reason = coordinate_reasons(lat, lon)
        valid = reason == 0
        prov, county = self.admin.locate_many(lat, lon)
        inside = valid & ((prov != NO_AREA) | (county != NO_AREA))
        status = np.full(n, STATUSES.index(OUTSIDE), dtype=np.int8)
        status[~valid] = STATUSES.index(INVALID)
        rows = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        sel = np.flatnonzero(inside)
        if len(sel):
            r, d = self.buildings.nearest(lat[sel], lon[sel], radius_m=radius_m)
            found = r >= 0
            rows[sel[found]] = r[found]
            dist[sel[found]] = d[found]
            status[sel] = np.where(found, STATUSES.index(OK), STATUSES.index(NO_BUILDING))
        has = rows >= 0
        bid = np.full(n, -1, dtype=np.int64)
        bid[has] = self.buildings.building_ids(rows[has])
        postcode = self.buildings.first_postcode(rows)
        if self.overlay is not None and len(self.overlay) and len(sel):
            self._batch_with_changes(lat, lon, sel, radius_m, rows, bid, postcode, dist, status)
        plus = np.zeros(n, dtype="S11")
        if valid.any():
            plus[valid] = encode_many_bytes(lat[valid], lon[valid])
        return ReverseBatch(status, reason, rows, bid, postcode, dist, prov, county, plus,
                            self.admin.province_areas, self.admin.county_areas)

    def _batch_with_changes(self, lat: np.ndarray, lon: np.ndarray, sel: np.ndarray, radius_m: float,
                            rows: np.ndarray, bid: np.ndarray, postcode: np.ndarray, dist: np.ndarray,
                            status: np.ndarray) -> None:
        """:meth:`_with_changes` for a batch, in place: a nearer changed building wins; changed units' postcodes."""
        overlay = self.overlay
        assert overlay is not None
        near, d = nearest_changed(overlay, lat[sel], lon[sel], radius_m)
        closer = (near >= 0) & ~(d >= dist[sel])  # NaN (no image building) compares False: the change wins
        pts = sel[closer]
        bid[pts], dist[pts], rows[pts] = near[closer], d[closer], -1
        status[pts] = STATUSES.index(OK)
        for i in np.flatnonzero(np.isin(bid, np.fromiter(overlay.buildings, dtype=np.int64))).tolist():
            image_codes = self.buildings.row_fields(int(rows[i]))[3] if rows[i] >= 0 else ()
            postcode[i] = first_postcode(merged_codes(overlay, int(bid[i]), image_codes))
