"""Admin containment against the real polygons: shared borders, brute force, degenerate input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from jinef.image.admin_index import NO_AREA, AdminIndex, Area
from jinef.write.compile.admin_index import osm_only_counties
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.refdata.paths import data_dir

METRES_PER_DEGREE = 111_195.0  # one degree of latitude (mean Earth radius)
PROVINCE_PAIR = ("23", "30")  # Tehran and Alborz
COUNTY_PAIR = ("2301", "2303")  # Tehran and Rey, a border through the city


def _shared_segments(g1: BaseGeometry, g2: BaseGeometry) -> np.ndarray:
    """(m, 4) edges of g1's exterior rings, oriented with g1 on the left, whose both ends are vertices of g2."""
    other = set(map(tuple, shapely.get_coordinates(g2.boundary)))
    out = []
    for part in shapely.get_parts(g1):
        c = shapely.get_coordinates(shapely.orient_polygons(part).exterior)  # counter-clockwise: interior on the left
        on = np.array([tuple(p) in other for p in c])
        both = on[:-1] & on[1:]
        out.append(np.column_stack((c[:-1], c[1:]))[both])
    return np.concatenate(out)


def _nudged(seg: np.ndarray, metres: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Segment midpoints moved ``metres`` to the left and to the right (lon, lat arrays)."""
    x1, y1, x2, y2 = seg.T
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    kx = np.cos(np.radians(my))  # metres per degree of longitude shrink with latitude
    dx, dy = (x2 - x1) * kx, y2 - y1
    norm = np.hypot(dx, dy)
    # Left normal in metric space, converted back to degrees.
    nx, ny = -dy / norm, dx / norm
    ox, oy = nx * metres / METRES_PER_DEGREE / kx, ny * metres / METRES_PER_DEGREE
    return mx + ox, my + oy, mx - ox, my - oy


def _long_enough(seg: np.ndarray, metres: float) -> np.ndarray:
    x1, y1, x2, y2 = seg.T
    kx = np.cos(np.radians((y1 + y2) / 2))
    return np.hypot((x2 - x1) * kx, y2 - y1) * METRES_PER_DEGREE > metres


def _index_of(areas: list[Area], key: str) -> int:
    return next(i for i, a in enumerate(areas) if a.key == key)


@pytest.mark.parametrize(("level", "pair"), [("province", PROVINCE_PAIR), ("county", COUNTY_PAIR)])
def test_real_shared_border(admin: AdminIndex, boundaries: Boundaries, level: str, pair: tuple[str, str]) -> None:
    polys = boundaries.provinces if level == "province" else boundaries.counties
    areas = admin.province_areas if level == "province" else admin.county_areas
    g1, g2 = polys[pair[0]], polys[pair[1]]
    seg = _shared_segments(g1, g2)
    # Segments long enough that 1 m sideways cannot reach a neighbouring vertex's wiggle.
    seg = seg[_long_enough(seg, 20)]
    assert len(seg) >= 50, "the two areas share a long border"
    seg = seg[np.linspace(0, len(seg) - 1, 200).astype(int)]
    lx, ly, rx, ry = _nudged(seg, 1.0)
    i1, i2 = _index_of(areas, pair[0]), _index_of(areas, pair[1])
    pick = 0 if level == "province" else 1

    # 1 m inside g1's side answers g1, 1 m on the other side answers g2; plain shapely agrees.
    assert shapely.contains_xy(g1, lx, ly).all() and not shapely.intersects_xy(g2, lx, ly).any()
    assert shapely.contains_xy(g2, rx, ry).all() and not shapely.intersects_xy(g1, rx, ry).any()
    assert (admin.locate_many(ly, lx)[pick] == i1).all()
    assert (admin.locate_many(ry, rx)[pick] == i2).all()
    if level == "county":
        prov = _index_of(admin.province_areas, "23")
        assert (admin.locate_many(ly, lx)[0] == prov).all() and (admin.locate_many(ry, rx)[0] == prov).all()

    # A vertex of the shared border is in both polygons: the documented rule gives the lower code.
    vx, vy = seg[:, 0], seg[:, 1]
    assert shapely.intersects_xy(g1, vx, vy).all() and shapely.intersects_xy(g2, vx, vy).all()
    others = [g for code, g in polys.items() if code not in pair]
    alone = ~np.any([shapely.intersects_xy(g, vx, vy) for g in others], axis=0)  # no third area at a junction
    assert alone.sum() >= 100
    assert (admin.locate_many(vy[alone], vx[alone])[pick] == min(i1, i2)).all()
    on_border = zip(vx[alone].tolist(), vy[alone].tolist(), strict=True)
    assert all(admin.locate_one(y, x)[pick] == min(i1, i2) for x, y in on_border)
    # The single-point path follows the same rules.
    for k in range(0, len(seg), 20):
        one = admin.locate(float(ly[k]), float(lx[k]))
        got = one.province if level == "province" else one.county
        assert got is not None and got.key == pair[0]


def _brute_force(points_x: np.ndarray, points_y: np.ndarray, provinces: list[tuple[Area, BaseGeometry]],
                 counties: list[tuple[Area, BaseGeometry]]) -> tuple[list[str | None], list[str | None]]:
    """Per point, province and county keys by plain shapely ``covers`` on every polygon and the documented rule."""
    pts = shapely.points(points_x, points_y)

    def covering(items: list[tuple[Area, BaseGeometry]]) -> list[list[Area]]:
        hits = [list[Area]() for _ in range(len(pts))]
        for area, geom in items:
            g = shapely.from_wkb(shapely.to_wkb(geom))
            shapely.prepare(g)  # a private copy, so the index's own objects are not touched
            for i in np.flatnonzero(shapely.covers(g, pts)):
                hits[i].append(area)
        return hits

    def key(a: Area) -> tuple[int, str, str]:
        return (0, a.code or "", "") if a.in_divisions else (1, a.province_code, a.name)

    prov_hits, county_hits = covering(provinces), covering(counties)
    has_polygon = {a.code for a, _ in provinces}
    prov_out: list[str | None] = []
    county_out: list[str | None] = []
    for ph, ch in zip(prov_hits, county_hits, strict=True):
        prov = min(ph, key=key).code if ph else None
        same = [a for a in ch if a.province_code == prov]
        county = min(same or ch, key=key) if ch else None
        if prov is None and county is not None and county.province_code in has_polygon:
            prov = county.province_code
        prov_out.append(prov)
        county_out.append(county.key if county else None)
    return prov_out, county_out


def test_equals_brute_force_on_random_points(admin: AdminIndex, divisions: Divisions,
                                             boundaries: Boundaries) -> None:
    provinces = [(Area(c, c, divisions.provinces[c].name, c), g) for c, g in boundaries.provinces.items()]
    counties = [(Area(c, c, divisions.counties[c].name, divisions.counties[c].province_code), g)
                for c, g in boundaries.counties.items()]
    counties += osm_only_counties(boundaries, data_dir())
    rng = np.random.default_rng(2024)
    # 20,000 uniform points over Iran's box, plus 20,000 within ~50 m of a random border vertex (the exact path).
    ux, uy = rng.uniform(44.0, 63.5, 20_000), rng.uniform(25.0, 40.0, 20_000)
    verts = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts([g for _, g in counties])))
    pick = verts[rng.integers(0, len(verts), 20_000)]
    bx, by = pick[:, 0] + rng.normal(0, 4e-4, 20_000), pick[:, 1] + rng.normal(0, 4e-4, 20_000)
    x, y = np.concatenate((ux, bx)), np.concatenate((uy, by))
    want_p, want_c = _brute_force(x, y, provinces, counties)
    got_p, got_c = admin.locate_many(y, x)
    prov_keys = [a.key for a in admin.province_areas] + [None]
    county_keys = [a.key for a in admin.county_areas] + [None]
    assert NO_AREA == -1  # so index -1 maps to the trailing None
    mism_p = [i for i in range(len(x)) if prov_keys[got_p[i]] != want_p[i]]
    mism_c = [i for i in range(len(x)) if county_keys[got_c[i]] != want_c[i]]
    assert not mism_p, [(x[i], y[i], prov_keys[got_p[i]], want_p[i]) for i in mism_p[:5]]
    assert not mism_c, [(x[i], y[i], county_keys[got_c[i]], want_c[i]) for i in mism_c[:5]]
    # The scalar path (single queries) gives the same indexes, near borders included.
    one = np.array([admin.locate_one(float(y[i]), float(x[i])) for i in range(0, len(x), 2)])
    assert (one[:, 0] == got_p[::2]).all() and (one[:, 1] == got_c[::2]).all()
    inside = np.array([p is not None for p in want_p[:20_000]])
    assert 0.3 < inside.mean() < 0.9  # the sample really mixes Iran and abroad


def _area(key: str, province: str = "90") -> Area:
    return Area(key, key, key, province)


def test_degenerate_polygons_are_dropped_or_repaired() -> None:
    square = Polygon([(50, 30), (51, 30), (51, 31), (50, 31)])
    bowtie = Polygon([(52, 30), (53, 31), (53, 30), (52, 31)])  # self-intersecting: invalid
    flat = Polygon([(54, 30), (55, 30), (56, 30)])  # three collinear points: zero area
    assert not bowtie.is_valid and flat.area == 0
    index = AdminIndex.from_polygons(
        [(_area("90"), square)],
        [(_area("9001"), square), (_area("9002"), bowtie), (_area("9003"), Polygon()), (_area("9004"), flat),
         (_area("9005"), LineString([(50, 30), (51, 31)]))],
    )
    assert sorted(index.skipped) == ["9003", "9004", "9005"]
    assert [a.key for a in index.county_areas] == ["9001", "9002"]
    # The bow-tie is repaired into its two triangles: inside each, answered; its crossing point too.
    for lat, lon in ((30.5, 52.2), (30.5, 52.8), (30.5, 52.5)):
        ans = index.locate(lat, lon)
        assert ans.county is not None and ans.county.key == "9002", (lat, lon)
    # Between the triangles (above and below the crossing) is outside.
    for lat, lon in ((30.9, 52.5), (30.1, 52.5)):
        assert not index.locate(lat, lon).inside_iran
    # A point on the zero-area polygon's line is in nothing.
    assert not index.locate(30.0, 54.5).inside_iran
    ans = index.locate(30.5, 50.5)
    assert ans.province is not None and ans.province.key == "90" and ans.county is not None
    # Same answers from the batch path and from a polygon-free index.
    p, c = index.locate_many(np.array([30.5, 30.9, 30.0]), np.array([52.2, 52.5, 54.5]))
    assert list(c) == [1, NO_AREA, NO_AREA] and list(p) == [0, NO_AREA, NO_AREA]  # province from the county's
    empty = AdminIndex.from_polygons([(_area("91"), Polygon())], [(_area("9101"), Point(50, 30).buffer(0))])
    assert sorted(empty.skipped) == ["91", "9101"]
    assert not empty.locate(30.0, 50.0).inside_iran
    p, c = empty.locate_many(np.array([30.0, math.nan]), np.array([50.0, 50.0]))
    assert list(p) == [NO_AREA, NO_AREA] and list(c) == [NO_AREA, NO_AREA]
