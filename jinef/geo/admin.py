"""Point → province and county from the real OSM polygons, vectorised.

Rules:

- A point belongs to a polygon when it *intersects* it (interior or boundary).
- A point exactly on a shared border (or inside a sliver where two OSM polygons overlap) belongs to
  the candidate with the lowest sort key: SCI code for areas in the divisions list, then OSM-only
  counties by province code and name. The answer is therefore deterministic and stable.
- A county must lie in the answered province when one of the candidates does; otherwise the
  lowest candidate is kept (a county polygon slightly over its province's border).
- County polygons in OSM that do not join to the divisions list (newer counties) are kept and
  answered with their own OSM name, marked ``in_divisions=False``; a point inside one is never
  told "no county".
- A point in no province and no county polygon is outside Iran (abroad, or the open sea).

Polygons are cut into grid tiles once, so the STRtree's boxes are small and each exact test runs
on a short ring; tests use prepared geometries with ``intersects_xy`` over candidate pairs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from jinef.refdata.boundaries import Boundaries, load_boundaries
from jinef.refdata.divisions import COUNTY_WORD, Divisions, load_divisions
from jinef.refdata.paths import data_dir

NO_AREA = -1
TILE_DEGREES = 0.25  # tiles of ~25 km: small boxes for the tree, short rings for the exact test
_UNJOINED = "no county of this province with this name"


@dataclass(frozen=True, slots=True)
class Area:
    """One province or county polygon's identity."""

    key: str  # SCI code, or ``osm:<province code>:<OSM name>`` for a county not in the divisions list
    code: str | None  # SCI code; None when the polygon does not join to the divisions list
    name: str
    province_code: str
    in_divisions: bool = True

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"code": self.code, "name": self.name, "in_divisions": self.in_divisions}


@dataclass(frozen=True, slots=True)
class AdminAnswer:
    """Province and county of one point; both None outside Iran."""

    province: Area | None
    county: Area | None

    @property
    def inside_iran(self) -> bool:
        """True when the point is inside some province or county polygon."""
        return self.province is not None or self.county is not None


@dataclass
class _Level:
    """Polygons of one level (provinces or counties), tiled and indexed."""

    areas: list[Area]
    tiles: np.ndarray  # tile geometries (prepared)
    owner: np.ndarray  # area index of each tile
    tree: shapely.STRtree

    @classmethod
    def build(cls, items: list[tuple[Area, BaseGeometry]], skipped: list[str]) -> _Level:
        items = sorted(items, key=lambda it: _sort_key(it[0]))
        areas: list[Area] = []
        tiles: list[BaseGeometry] = []
        owner: list[int] = []
        for area, geom in items:
            geom = _clean(geom)
            if geom is None:
                skipped.append(area.key)
                continue
            idx = len(areas)
            areas.append(area)
            for tile in _tile(geom):
                tiles.append(tile)
                owner.append(idx)
        tile_arr = np.array(tiles, dtype=object)
        shapely.prepare(tile_arr)
        return cls(areas, tile_arr, np.array(owner, dtype=np.int32), shapely.STRtree(tile_arr))

    def candidates(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, area index) for every polygon each point intersects."""
        if len(self.tiles) == 0 or len(x) == 0:
            return np.empty(0, np.intp), np.empty(0, np.int32)
        inp, tile = self.tree.query(shapely.points(x, y))
        hit = shapely.intersects_xy(self.tiles[tile], x[inp], y[inp])
        return inp[hit], self.owner[tile[hit]]


def _sort_key(area: Area) -> tuple[int, str, str]:
    return (0, area.code or "", "") if area.in_divisions else (1, area.province_code, area.name)


def _clean(geom: BaseGeometry | None) -> BaseGeometry | None:
    """A valid polygonal geometry with area, or None (degenerate polygons are dropped)."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    # make_valid may return a collection with lines or points: keep the polygonal part only.
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        return None
    geom = shapely.union_all(polys)
    if geom.is_empty or geom.area == 0:
        return None
    return geom


def _tile(geom: BaseGeometry) -> list[BaseGeometry]:
    """Cut a polygon along a fixed degree grid; tiles share edges, so coverage is exactly the polygon's."""
    minx, miny, maxx, maxy = geom.bounds
    x0, y0 = math.floor(minx / TILE_DEGREES), math.floor(miny / TILE_DEGREES)
    x1, y1 = math.ceil(maxx / TILE_DEGREES), math.ceil(maxy / TILE_DEGREES)
    if (x1 - x0) * (y1 - y0) <= 1:
        return [geom]
    cells = [box(i * TILE_DEGREES, j * TILE_DEGREES, (i + 1) * TILE_DEGREES, (j + 1) * TILE_DEGREES)
             for i in range(x0, x1) for j in range(y0, y1)]
    cell_arr = np.array(cells, dtype=object)
    shapely.prepare(geom)
    cell_arr = cell_arr[shapely.intersects(geom, cell_arr)]
    parts = shapely.intersection(geom, cell_arr)
    out = []
    for part in parts:
        polys = [g for g in shapely.get_parts(part) if g.geom_type == "Polygon" and g.area > 0]
        if polys:
            out.append(shapely.multipolygons(polys) if len(polys) > 1 else polys[0])
    return out


def _first_per_point(n: int, inp: np.ndarray, score: np.ndarray) -> np.ndarray:
    """For each of n points, the lowest score among its candidates (``NO_AREA`` when none)."""
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, inp, score)
    out[out == np.iinfo(np.int64).max] = NO_AREA
    return out


@dataclass
class AdminIndex:
    """Province and county polygons prepared for fast point queries."""

    provinces: _Level
    counties: _Level
    skipped: list[str] = field(default_factory=list)  # keys of degenerate polygons that were dropped

    @classmethod
    def from_polygons(
        cls, provinces: list[tuple[Area, BaseGeometry]], counties: list[tuple[Area, BaseGeometry]]
    ) -> AdminIndex:
        """Build from (area, polygon) pairs; invalid polygons are repaired, degenerate ones dropped."""
        skipped: list[str] = []
        prov = _Level.build(provinces, skipped)
        cty = _Level.build(counties, skipped)
        return cls(prov, cty, skipped)

    @property
    def province_areas(self) -> list[Area]:
        """Provinces, in index order."""
        return self.provinces.areas

    @property
    def county_areas(self) -> list[Area]:
        """Counties, in index order (divisions-list counties first)."""
        return self.counties.areas

    def locate_many(self, lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Province and county indexes (``NO_AREA`` = none) for arrays of points; invalid points get none."""
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        n = lat.shape[0]
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        sel = np.flatnonzero(ok)
        x, y = lon[sel], lat[sel]
        p_inp, p_area = self.provinces.candidates(x, y)
        prov = _first_per_point(len(sel), p_inp, p_area.astype(np.int64))
        c_inp, c_area = self.counties.candidates(x, y)
        county_prov = self._county_province
        # Prefer a county of the answered province; ties go to the lowest index (the documented rule).
        mismatch = county_prov[c_area] != prov[c_inp]
        big = len(self.counties.areas) + 1
        best = _first_per_point(len(sel), c_inp, c_area.astype(np.int64) + mismatch * big)
        county = np.where(best >= big, best - big, best)
        # In a county polygon but in no province polygon (a gap between OSM layers): take its province.
        fill = (prov == NO_AREA) & (county != NO_AREA)
        prov[fill] = county_prov[county[fill]]
        prov_out = np.full(n, NO_AREA, dtype=np.int32)
        county_out = np.full(n, NO_AREA, dtype=np.int32)
        prov_out[sel] = prov
        county_out[sel] = county
        return prov_out, county_out

    def locate(self, lat: float, lon: float) -> AdminAnswer:
        """Province and county of one point."""
        p, c = self.locate_many(np.array([lat], dtype=np.float64), np.array([lon], dtype=np.float64))
        return AdminAnswer(self.province_areas[p[0]] if p[0] != NO_AREA else None,
                           self.county_areas[c[0]] if c[0] != NO_AREA else None)

    def __post_init__(self) -> None:
        pos = {a.code: i for i, a in enumerate(self.provinces.areas)}
        # Province index of each county (NO_AREA when its province has no polygon); one slot extra so
        # indexing with NO_AREA stays in bounds.
        self._county_province = np.array([pos.get(a.province_code, NO_AREA) for a in self.counties.areas]
                                         + [NO_AREA], dtype=np.int64)


def osm_only_counties(boundaries: Boundaries, root: Path) -> list[tuple[Area, BaseGeometry]]:
    """County polygons the boundaries loader could not join to the divisions list, with their OSM names."""
    wanted: dict[str, set[str]] = {}
    for issue in boundaries.report.issues:
        if issue.problem == _UNJOINED and issue.source.startswith("boundaries/counties/"):
            wanted.setdefault(issue.source, set()).add(issue.key)
    out: list[tuple[Area, BaseGeometry]] = []
    for source, names in sorted(wanted.items()):
        prov_code = Path(source).stem.removeprefix("IR-")
        with (root / source).open(encoding="utf-8") as fh:
            features = json.load(fh)["features"]
        for feat in features:
            name = ((feat.get("properties") or {}).get("tags") or {}).get("name", "")
            geom = feat.get("geometry") or {}
            if name in names and geom.get("type") in ("Polygon", "MultiPolygon"):
                short = name.removeprefix(COUNTY_WORD[0]).strip()
                out.append((Area(f"osm:{prov_code}:{short}", None, short, prov_code, False), shape(geom)))
    return out


def build_admin_index(divisions: Divisions, boundaries: Boundaries, root: Path | None = None) -> AdminIndex:
    """The admin index from loaded divisions and boundaries (plus the OSM-only counties)."""
    root = root or data_dir()
    provinces = [(Area(code, code, divisions.provinces[code].name, code), g)
                 for code, g in boundaries.provinces.items()]
    counties = [(Area(code, code, divisions.counties[code].name, divisions.counties[code].province_code), g)
                for code, g in boundaries.counties.items()]
    counties += osm_only_counties(boundaries, root)
    return AdminIndex.from_polygons(provinces, counties)


@lru_cache(maxsize=4)
def _cached(root: Path) -> AdminIndex:
    divisions = load_divisions(root)
    return build_admin_index(divisions, load_boundaries(divisions, root), root)


def load_admin_index(root: Path | None = None) -> AdminIndex:
    """The admin index for the reference data folder, built once per process (loading takes seconds)."""
    return _cached((root or data_dir()).resolve())
