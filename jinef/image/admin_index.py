"""The admin index: point → province and county from the real OSM polygons, vectorised.

Shared by both sides through the read image: the compiler builds it from the reference data
(:mod:`jinef.write.compile.admin_index`) and stores :func:`admin_arrays`; the read side rebuilds it from those
arrays with :func:`admin_from_arrays` (no reference data, no grid to compute).

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

Polygons are prepared once. A grid of ~0.9 km cells holds the answer for every cell no border
passes through (computed with the same rules), and for every cell near a border whose answer is the
same all over it (exact ``covers`` of the cell by its lowest candidates). Points in the remaining ~4%
of cells get the exact test. Batches: STRtree candidates, then ``intersects_xy`` on the prepared
polygons, all vectorised. Single points: the cell's own candidate list, in rule order, the first hit
wins; a polygon covering the whole cell hits without a test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jinef.common.cache_files import wkb_pack, wkb_unpack

NO_AREA = -1


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
    geoms: list[BaseGeometry]  # whole cleaned polygon of each area (for building the grid)

    @classmethod
    def build(cls, items: list[tuple[Area, BaseGeometry]], skipped: list[str]) -> _Level:
        items = sorted(items, key=lambda it: _sort_key(it[0]))
        areas: list[Area] = []
        tiles: list[BaseGeometry] = []
        owner: list[int] = []
        whole: list[BaseGeometry] = []
        for area, geom in items:
            geom = _clean(geom)
            if geom is None:
                skipped.append(area.key)
                continue
            idx = len(areas)
            areas.append(area)
            whole.append(geom)
            tiles.append(geom)
            owner.append(idx)
        tile_arr = np.array(tiles, dtype=object)
        shapely.prepare(tile_arr)
        return cls(areas, tile_arr, np.array(owner, dtype=np.int32), shapely.STRtree(tile_arr),
                   whole)

    @classmethod
    def from_clean(cls, areas: list[Area], geoms: list[BaseGeometry]) -> _Level:
        """From areas already sorted and polygons already cleaned (as :meth:`build` leaves them)."""
        tile_arr = np.array(geoms, dtype=object)
        shapely.prepare(tile_arr)
        return cls(areas, tile_arr, np.arange(len(areas), dtype=np.int32), shapely.STRtree(tile_arr), list(geoms))

    def candidates(self, x: np.ndarray, y: np.ndarray, points: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(point index, area index) for every polygon each point intersects (``points``: x, y made already)."""
        if len(self.tiles) == 0 or len(x) == 0:
            return np.empty(0, np.intp), np.empty(0, np.int32)
        inp, tile = self.tree.query(shapely.points(x, y) if points is None else points)
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


def _first_per_point(n: int, inp: np.ndarray, score: np.ndarray) -> np.ndarray:
    """For each of n points, the lowest score among its candidates (``NO_AREA`` when none)."""
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, inp, score)
    out[out == np.iinfo(np.int64).max] = NO_AREA
    return out


GRID_DEGREES = 1 / 128  # ~0.9 km cells; about 10% of Iran's cells touch a border and need the exact test
MIXED = -2
_CELL_MARGIN = 1e-9  # degrees (~0.1 mm): far more than the rounding in a point's cell index


def _point_test(geom: BaseGeometry, x: float, y: float) -> bool:
    return bool(geom.intersects(shapely.Point(x, y)))


# Point-in-polygon for one point with no Point object made (~0.15 µs, against ~5 µs to build a Point);
# shapely's geometries call it themselves, older versions lack it.
_intersects_xy: Callable[[BaseGeometry, float, float], bool] = getattr(
    shapely.lib, "intersects_xy_scalar", _point_test)


def _first_of_each(n: int, cell: np.ndarray) -> np.ndarray:
    """Per cell 0..n-1, the position of its first pair in ``cell`` (sorted ascending), -1 when it has none."""
    first = np.full(n, -1, np.int64)
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]]) if len(cell) else np.empty(0, np.int64)
    first[cell[starts]] = starts
    return first


def _ring_edges(geoms: list[BaseGeometry]) -> np.ndarray:
    """(m, 4) edges x1, y1, x2, y2 of every ring (exteriors and holes) of the geometries."""
    out = []
    for ring in shapely.get_rings(np.array(shapely.get_parts(np.array(geoms, dtype=object)), dtype=object)):
        c = shapely.get_coordinates(ring)
        out.append(np.column_stack((c[:-1], c[1:])))
    return np.concatenate(out) if out else np.empty((0, 4))


def _centres_inside(edges: np.ndarray, x0: float, y0: float, nx: int, ny: int) -> np.ndarray:
    """Even-odd scanline fill: which cell centres of an (ny, nx) window lie inside the rings."""
    x1, y1, x2, y2 = edges.T
    lo, hi = np.minimum(y1, y2), np.maximum(y1, y2)
    # Rows whose centre y_j = y0 + (j + 0.5) G satisfies lo <= y_j < hi.
    j0 = np.ceil((lo - y0) / GRID_DEGREES - 0.5).astype(np.int64)
    j1 = np.ceil((hi - y0) / GRID_DEGREES - 0.5).astype(np.int64)
    j0, j1 = np.clip(j0, 0, ny), np.clip(j1, 0, ny)
    n = np.maximum(j1 - j0, 0)
    e = np.repeat(np.arange(len(edges)), n)
    j = np.repeat(j0 - np.cumsum(n) + n, n) + np.arange(n.sum())
    yc = y0 + (j + 0.5) * GRID_DEGREES
    t = (yc - y1[e]) / (y2[e] - y1[e])
    xc = x1[e] + t * (x2[e] - x1[e])
    col = np.clip(np.ceil((xc - x0) / GRID_DEGREES - 0.5).astype(np.int64), 0, nx)
    flips = np.zeros((ny, nx + 1), dtype=np.int32)
    np.add.at(flips, (j, col), 1)
    return (np.cumsum(flips, axis=1)[:, :nx] % 2).astype(bool)


@dataclass
class _Grid:
    """Answers for cells no border passes through; MIXED cells go to the exact polygon test."""

    x0: float
    y0: float
    province: np.ndarray  # (ny, nx) int16: area index, NO_AREA, or MIXED
    county: np.ndarray

    @classmethod
    def build(cls, prov: _Level, cty: _Level, county_prov: np.ndarray) -> _Grid:
        bounds = np.array([shapely.total_bounds(lv.tiles) for lv in (prov, cty) if len(lv.tiles)])
        if not len(bounds):
            return cls(0.0, 0.0, np.full((1, 1), NO_AREA, np.int16), np.full((1, 1), NO_AREA, np.int16))
        x0 = math.floor(bounds[:, 0].min() / GRID_DEGREES) * GRID_DEGREES
        y0 = math.floor(bounds[:, 1].min() / GRID_DEGREES) * GRID_DEGREES
        nx = math.ceil((bounds[:, 2].max() - x0) / GRID_DEGREES) + 1
        ny = math.ceil((bounds[:, 3].max() - y0) / GRID_DEGREES) + 1
        grid = cls(x0, y0, np.full((ny, nx), NO_AREA, np.int16), np.full((ny, nx), NO_AREA, np.int16))
        mixed = np.zeros((ny, nx), dtype=bool)
        any_county = np.full((ny, nx), NO_AREA, np.int16)
        matched = np.full((ny, nx), NO_AREA, np.int16)
        for level, target in ((prov, grid.province), (cty, any_county)):
            geoms = level.geoms
            # Paint from the highest index down so the lowest index wins: the border rule.
            for idx in range(len(geoms) - 1, -1, -1):
                edges = _ring_edges([geoms[idx]])
                win, inside = grid._window(edges)
                target[win][inside] = idx
                if level is cty:
                    sub = matched[win]
                    sub[inside & (grid.province[win] == county_prov[idx])] = idx
                grid._mark_edges(edges, mixed)
        # The county rule: one of the answered province first, else the lowest county.
        grid.county[:] = np.where(matched != NO_AREA, matched, any_county)
        fill = (grid.province == NO_AREA) & (grid.county != NO_AREA)
        grid.province[fill] = county_prov[grid.county[fill]]
        # Dilate by one cell: a border crossing a cell's corner between two edge samples is still caught.
        dil = mixed.copy()
        dil[1:] |= mixed[:-1]
        dil[:-1] |= mixed[1:]
        dil2 = dil.copy()
        dil2[:, 1:] |= dil[:, :-1]
        dil2[:, :-1] |= dil[:, 1:]
        grid.province[dil2] = MIXED
        grid.county[dil2] = MIXED
        return grid

    def _window(self, edges: np.ndarray) -> tuple[tuple[slice, slice], np.ndarray]:
        if not len(edges):
            return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), dtype=bool)
        xs, ys = edges[:, [0, 2]], edges[:, [1, 3]]
        i0 = max(int((xs.min() - self.x0) / GRID_DEGREES) - 1, 0)
        j0 = max(int((ys.min() - self.y0) / GRID_DEGREES) - 1, 0)
        i1 = min(int((xs.max() - self.x0) / GRID_DEGREES) + 2, self.province.shape[1])
        j1 = min(int((ys.max() - self.y0) / GRID_DEGREES) + 2, self.province.shape[0])
        inside = _centres_inside(edges, self.x0 + i0 * GRID_DEGREES, self.y0 + j0 * GRID_DEGREES, i1 - i0, j1 - j0)
        return (slice(j0, j1), slice(i0, i1)), inside

    def _mark_edges(self, edges: np.ndarray, mixed: np.ndarray) -> None:
        length = np.hypot(edges[:, 2] - edges[:, 0], edges[:, 3] - edges[:, 1])
        n = np.ceil(length / (GRID_DEGREES / 2)).astype(np.int64) + 1
        e = np.repeat(np.arange(len(edges)), n)
        t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(np.maximum(n - 1, 1), n)
        x = edges[e, 0] + t * (edges[e, 2] - edges[e, 0])
        y = edges[e, 1] + t * (edges[e, 3] - edges[e, 1])
        i = np.clip(((x - self.x0) / GRID_DEGREES).astype(np.int64), 0, mixed.shape[1] - 1)
        j = np.clip(((y - self.y0) / GRID_DEGREES).astype(np.int64), 0, mixed.shape[0] - 1)
        mixed[j, i] = True

    def lookup(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Province and county per point from the grid (MIXED where the exact test is needed)."""
        i = np.floor((x - self.x0) / GRID_DEGREES).astype(np.int64)
        j = np.floor((y - self.y0) / GRID_DEGREES).astype(np.int64)
        ny, nx = self.province.shape
        inb = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        p = np.full(len(x), NO_AREA, dtype=np.int64)
        c = np.full(len(x), NO_AREA, dtype=np.int64)
        p[inb] = self.province[j[inb], i[inb]]
        c[inb] = self.county[j[inb], i[inb]]
        return p, c


@dataclass
class AdminIndex:
    """Province and county polygons prepared for fast point queries."""

    provinces: _Level
    counties: _Level
    skipped: list[str] = field(default_factory=list)  # keys of degenerate polygons that were dropped
    grid: _Grid | None = None  # built on creation
    # Per level, the border cells' candidate polygons (offsets, codes: see _build_cell_candidates); built on
    # creation, or read back with the grid from the cache (their exact polygon tests were most of a load).
    cell_candidates: list[tuple[np.ndarray, np.ndarray]] | None = field(default=None, repr=False, compare=False)

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
        prov_out = np.full(n, NO_AREA, dtype=np.int32)
        county_out = np.full(n, NO_AREA, dtype=np.int32)
        assert self.grid is not None  # built in __post_init__
        gp, gc = self.grid.lookup(lon[sel], lat[sel])
        done = gp != MIXED
        prov_out[sel[done]] = gp[done]
        county_out[sel[done]] = gc[done]
        rest = sel[~done]
        p, c = self.locate_exact(lat[rest], lon[rest])
        prov_out[rest] = p
        county_out[rest] = c
        return prov_out, county_out

    def locate_exact(self, lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The polygon test itself (no grid), for valid points: province and county indexes."""
        x, y = np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
        sel = np.arange(len(x))
        pts = shapely.points(x, y)  # made once for both levels
        p_inp, p_area = self.provinces.candidates(x, y, pts)
        prov = _first_per_point(len(sel), p_inp, p_area.astype(np.int64))
        c_inp, c_area = self.counties.candidates(x, y, pts)
        county_prov = self._county_province
        # Prefer a county of the answered province; ties go to the lowest index (the documented rule).
        mismatch = county_prov[c_area] != prov[c_inp]
        big = len(self.counties.areas) + 1
        best = _first_per_point(len(sel), c_inp, c_area.astype(np.int64) + mismatch * big)
        county = np.where(best >= big, best - big, best)
        # In a county polygon but in no province polygon (a gap between OSM layers): take its province.
        fill = (prov == NO_AREA) & (county != NO_AREA)
        prov[fill] = county_prov[county[fill]]
        return prov.astype(np.int32), county.astype(np.int32)

    def locate_one(self, lat: float, lon: float) -> tuple[int, int]:
        """Province and county indexes of one point without array machinery (the fast path for single queries)."""
        if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
            return NO_AREA, NO_AREA
        grid = self.grid
        assert grid is not None  # built in __post_init__
        i = math.floor((lon - grid.x0) / GRID_DEGREES)
        j = math.floor((lat - grid.y0) / GRID_DEGREES)
        ny, nx = grid.province.shape
        if not (0 <= i < nx and 0 <= j < ny):
            return NO_AREA, NO_AREA  # the grid spans every polygon's bounds
        province, county, cell_row = self._grid_mv
        p = province[j, i]
        if p != MIXED:
            return p, county[j, i]
        return self._exact_one(lat, lon, cell_row[j, i])

    def _cell_pairs(self, level: _Level, mj: np.ndarray, mi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cell, area, covers the whole cell) for every polygon that meets each listed grid cell, by cell then area."""
        g = self.grid
        assert g is not None
        if len(level.tiles) == 0 or len(mj) == 0:
            return np.empty(0, np.intp), np.empty(0, np.int32), np.empty(0, bool)
        # The cell a point falls in comes from rounded arithmetic: widen the box a hair so it holds every such point.
        x0 = g.x0 + mi * GRID_DEGREES
        y0 = g.y0 + mj * GRID_DEGREES
        boxes = shapely.box(x0 - _CELL_MARGIN, y0 - _CELL_MARGIN, x0 + GRID_DEGREES + _CELL_MARGIN,
                            y0 + GRID_DEGREES + _CELL_MARGIN)
        cell, tile = level.tree.query(boxes)
        # Exact predicates on the prepared polygons: disjoint ones are dropped, covering ones need no test later.
        meets = shapely.intersects(level.tiles[tile], boxes[cell])
        cell, tile = cell[meets], tile[meets]
        full = shapely.covers(level.tiles[tile], boxes[cell])
        area = level.owner[tile]
        order = np.lexsort((area, cell))
        return cell[order], area[order].astype(np.int32), full[order]

    def _resolve_constant_cells(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Give border cells whose answer is the same for every point in them (the lowest candidate covers the
        whole cell, at both levels) that answer in the grid: their points then need no polygon test."""
        g = self.grid
        assert g is not None
        mj, mi = np.nonzero(g.province == MIXED)
        n = len(mj)
        cp = self._county_province
        p_cell, p_area, p_full = self._cell_pairs(self.provinces, mj, mi)
        # Province: candidates ascend by index and the lowest hit wins, so the first one decides if it covers.
        p_first = _first_of_each(n, p_cell)
        p_has = p_first >= 0
        p_const = ~p_has | p_full[np.maximum(p_first, 0)]
        p_val = np.where(p_has, p_area[np.maximum(p_first, 0)], NO_AREA)
        # County: candidates of the answered province first, then the rest, each by index (the documented rule).
        c_cell, c_area, c_full = self._cell_pairs(self.counties, mj, mi)
        order = np.lexsort((c_area, cp[c_area] != p_val[c_cell], c_cell))
        c_first = _first_of_each(n, c_cell[order])
        c_has = c_first >= 0
        c_const = ~c_has | c_full[order][np.maximum(c_first, 0)]
        c_val = np.where(c_has, c_area[order][np.maximum(c_first, 0)], NO_AREA)
        p_val = np.where((p_val == NO_AREA) & (c_val != NO_AREA), cp[c_val], p_val)
        done = p_const & c_const
        g.province[mj[done], mi[done]] = p_val[done]
        g.county[mj[done], mi[done]] = c_val[done]
        # The pairs of the cells still mixed, renumbered in their row order: the candidate lists reuse them.
        new_row = np.cumsum(~done) - 1
        return [(new_row[cell][keep], area[keep], full[keep])
                for cell, area, full in ((p_cell, p_area, p_full), (c_cell, c_area, c_full))
                for keep in [~done[cell]]]

    def _build_cell_candidates(self, pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None) -> None:
        """For every border cell, the polygons that meet it and whether each covers it: the exact test of one point
        then needs no tree query, and no test at all against a covering polygon."""
        g = self.grid
        assert g is not None
        mj, mi = np.nonzero(g.province == MIXED)
        self._cell_row = np.full(g.province.shape, -1, np.int32)
        self._cell_row[mj, mi] = np.arange(len(mj), dtype=np.int32)
        # Memoryviews give single queries plain ints, without numpy's scalar machinery.
        self._grid_mv = (np.ascontiguousarray(g.province).data, np.ascontiguousarray(g.county).data,
                         self._cell_row.data)
        if self.cell_candidates is None:
            self.cell_candidates = []
            for which, level in enumerate((self.provinces, self.counties)):
                cell, area, full = pairs[which] if pairs is not None else self._cell_pairs(level, mj, mi)
                offsets = np.zeros(len(mj) + 1, np.int64)
                np.cumsum(np.bincount(cell, minlength=len(mj)), out=offsets[1:])
                # One int per candidate: area index * 2, plus 1 when the polygon covers the cell.
                self.cell_candidates.append((offsets, area.astype(np.int64) * 2 + full))
        self._cell_candidates: list[tuple[memoryview, memoryview]] = [
            (np.ascontiguousarray(offsets, np.int64).data, np.ascontiguousarray(codes, np.int64).data)
            for offsets, codes in self.cell_candidates]

    def _exact_one(self, lat: float, lon: float, row: int) -> tuple[int, int]:
        """The polygon test for one point of border cell ``row``, same rules as :meth:`locate_exact`, in plain
        Python: candidates in rule order, the first hit wins, covering candidates hit without a test."""
        offsets, codes = self._cell_candidates[0]
        geoms = self.provinces.geoms
        prov = NO_AREA
        for code in codes[offsets[row]:offsets[row + 1]].tolist():
            if code & 1 or _intersects_xy(geoms[code >> 1], lon, lat):
                prov = code >> 1
                break
        offsets, codes = self._cell_candidates[1]
        geoms = self.counties.geoms
        cp = self._county_province_list
        cands = codes[offsets[row]:offsets[row + 1]].tolist()
        county = NO_AREA
        # The answered province's counties first, then the others; each group by index.
        for same in (True, False):
            for code in cands:
                if (cp[code >> 1] == prov) is same and (code & 1 or _intersects_xy(geoms[code >> 1], lon, lat)):
                    county = code >> 1
                    break
            if county != NO_AREA:
                break
        if prov == NO_AREA and county != NO_AREA:
            prov = cp[county]
        return prov, county

    def locate(self, lat: float, lon: float) -> AdminAnswer:
        """Province and county of one point."""
        p, c = self.locate_one(lat, lon)
        return AdminAnswer(self.province_areas[p] if p != NO_AREA else None,
                           self.county_areas[c] if c != NO_AREA else None)

    def __post_init__(self) -> None:
        pos = {a.code: i for i, a in enumerate(self.provinces.areas)}
        # Province index of each county (NO_AREA when its province has no polygon); one slot extra so
        # indexing with NO_AREA stays in bounds.
        self._county_province = np.array([pos.get(a.province_code, NO_AREA) for a in self.counties.areas]
                                         + [NO_AREA], dtype=np.int64)
        self._county_province_list: list[int] = self._county_province.tolist()
        pairs = None
        if self.grid is None:
            self.grid = _Grid.build(self.provinces, self.counties, self._county_province)
            pairs = self._resolve_constant_cells()  # a grid read from the cache had this done before it was saved
        self._build_cell_candidates(pairs)


def _areas_json(areas: list[Area]) -> np.ndarray:
    return np.array(json.dumps([[a.key, a.code, a.name, a.province_code, a.in_divisions] for a in areas]))


def _areas_from(arr: np.ndarray) -> list[Area]:
    return [Area(k, c, n, p, d) for k, c, n, p, d in json.loads(_text(arr))]


def _text(arr: np.ndarray) -> str:
    """The text of a 0-d string array (also when memory-mapped, where ``str()`` would name the map)."""
    return str(np.asarray(arr).reshape(-1)[0])


def admin_arrays(index: AdminIndex) -> dict[str, np.ndarray]:
    """The index as plain arrays: areas (JSON text), cleaned polygons (WKB, exact), the grid and the border
    cells' candidates. What the on-disk cache and the read image store."""
    assert index.grid is not None and index.cell_candidates is not None
    arrays: dict[str, np.ndarray] = {
        "skipped": np.array(json.dumps(index.skipped)),
        "grid_origin": np.array([index.grid.x0, index.grid.y0]),
        "grid_province": index.grid.province, "grid_county": index.grid.county,
    }
    for (name, level), (offsets, codes) in zip((("provinces", index.provinces), ("counties", index.counties)),
                                               index.cell_candidates, strict=True):
        arrays[f"{name}_areas"] = _areas_json(level.areas)
        arrays[f"{name}_wkb"], arrays[f"{name}_offsets"] = wkb_pack(level.geoms)
        arrays[f"{name}_cell_offsets"], arrays[f"{name}_cell_codes"] = offsets, codes
    return arrays


def admin_from_arrays(z: Mapping[str, np.ndarray]) -> AdminIndex:
    """An index from :func:`admin_arrays` (polygons are prepared again; the grid and the border cells'
    candidates are not rebuilt)."""
    levels = [_Level.from_clean(_areas_from(z[f"{n}_areas"]), wkb_unpack(z[f"{n}_wkb"], z[f"{n}_offsets"]))
              for n in ("provinces", "counties")]
    x0, y0 = (float(v) for v in z["grid_origin"])
    grid = _Grid(x0, y0, z["grid_province"], z["grid_county"])
    candidates = [(z[f"{n}_cell_offsets"], z[f"{n}_cell_codes"]) for n in ("provinces", "counties")]
    return AdminIndex(levels[0], levels[1], json.loads(_text(z["skipped"])), grid, candidates)


