"""The generated country's geometry: blocks handed out without overlap inside the polygons, streets laid out
so that buildings never collide, plates spaced as on real streets, cities that grow with their units."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from jinef.write.ingest import lattice
from jinef.write.ingest.comb import NoRoomError, plan_groups
from jinef.write.ingest.generate import Planner, _regions
from jinef.write.ingest.postcode_allocator import UrbanSequence, urban_routes_needed
from jinef.write.ingest.streets import Area, Ids, NamePicker, Rows, blocks_needed, generate_area
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.refdata.tehran import load_tehran_neighbourhoods
from jinef.write.store.open import open_reader
from tests.test_generate import block_run

EARTH_M = 6_371_008.8


def metres(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a sphere of the Earth's radius: distances between them in metres."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la))) * EARTH_M


def nearest_other(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest other point, in metres."""
    tree = cKDTree(metres(lat, lon))
    d, _ = tree.query(tree.data, k=2)
    return np.asarray(d[:, 1])


@pytest.fixture(scope="module")
def buildings(small_registry: Path) -> dict[str, np.ndarray]:
    """The small registry's buildings table."""
    with open_reader(small_registry) as reader:
        return reader.columns("buildings", ["id", "last_thoroughfare_id", "plate", "entrance", "lat", "lon"])


def test_no_two_buildings_within_3_m(buildings: dict[str, np.ndarray]) -> None:
    near = nearest_other(buildings["lat"], buildings["lon"])
    # The comb keeps any two buildings 7 m apart (entrances of one complex, neighbouring blocks' edges).
    assert near.min() > 6.9


def test_plates_10_to_20_m_apart_along_a_street(buildings: dict[str, np.ndarray]) -> None:
    b = buildings
    front = np.isin(b["entrance"], ["", "1"])  # a complex's first entrance stands at its plate's plot
    street, plate = b["last_thoroughfare_id"][front], b["plate"][front].astype(int)
    xyz = metres(b["lat"][front], b["lon"][front])
    order = np.lexsort((b["id"][front], street))
    street, plate, xyz = street[order], plate[order], xyz[order]
    same = street[2:] == street[:-2]  # plates alternate sides: the next plate on the same side is two on
    gaps = np.linalg.norm(xyz[2:] - xyz[:-2], axis=1)[same]
    assert len(gaps) > 1000
    assert gaps.min() > 10 - 1e-3 and gaps.max() < 20 + 1e-3
    assert (plate[1:] > plate[:-1])[street[1:] == street[:-1]].all()  # plates increase along a street


def test_entrances_of_a_complex_stand_apart(buildings: dict[str, np.ndarray]) -> None:
    b = buildings
    second = np.flatnonzero(b["entrance"] == "2")
    assert len(second)
    # Entrance 2 comes right after entrance 1 (ids in layout order), 7 m deeper into the plot.
    xyz = metres(b["lat"], b["lon"])
    d = np.linalg.norm(xyz[second] - xyz[second - 1], axis=1)
    assert np.allclose(d, 7.0, atol=0.01)


@pytest.fixture(scope="module")
def plans(divisions: Divisions, boundaries: Boundaries) -> dict[int, Planner]:
    """The whole plan (no rows) at two sizes ten times apart (planning is cheap: no rows are made)."""
    regions = _regions(divisions, boundaries)
    tehran = load_tehran_neighbourhoods()
    return {n: Planner.planned(n, 7, divisions, regions, tehran) for n in (1_000_000, 10_000_000)}


def _blocks(plan: Planner) -> tuple[np.ndarray, np.ndarray]:
    """Every block of the plan and the index of the job it belongs to."""
    keys, owner = [], []
    for i, job in enumerate(plan.jobs):
        mine = list(job.blocks) + [b for _u, bs in job.villages for b in bs]
        keys += mine
        owner += [i] * len(mine)
    return np.array(keys, dtype=np.int64), np.array(owner)


def test_blocks_are_unique_and_inside_their_county(plans: dict[int, Planner], divisions: Divisions,
                                                   boundaries: Boundaries) -> None:
    plan = plans[10_000_000]
    keys, owner = _blocks(plan)
    assert len(np.unique(keys)) == len(keys)  # no block belongs to two areas (nor twice to one)
    counties = np.array([plan.jobs[i].county for i in owner])
    row, col = np.divmod(keys, lattice.NCOLS)
    for code in np.unique(counties):
        sel = counties == code
        prov = boundaries.provinces[divisions.counties[str(code)].province_code]
        poly = boundaries.counties.get(str(code), prov)
        for dc, dr in ((0, 0), (1, 0), (0, 1), (1, 1)):  # every corner of every block
            lon = lattice.LON0 + (col[sel] + dc) * lattice.DLON
            lat = lattice.LAT0 + (row[sel] + dr) * lattice.DLAT
            assert shapely.contains_xy(poly, lon, lat).all() and shapely.contains_xy(prov, lon, lat).all(), code


def _cities(plan: Planner) -> dict[int, list[int]]:
    """Each city's blocks, by locality id."""
    out: dict[int, list[int]] = {}
    for job in plan.jobs:
        if job.blocks:
            out.setdefault(job.locality_id, []).extend(job.blocks)
    return out


def _extent_km(plan: Planner, loc: int, blocks: list[int]) -> float:
    """How far a city's blocks reach from its centre."""
    row = plan.localities[loc - 1]
    lon, lat = lattice.centres(np.array(blocks, dtype=np.int64))
    return float(np.hypot((lon - row[9]) * math.cos(math.radians(row[8])), lat - row[8]).max() * 111.32)


def test_cities_grow_with_their_units(plans: dict[int, Planner]) -> None:
    small, large = _cities(plans[1_000_000]), _cities(plans[10_000_000])
    assert all(len(large[c]) >= len(small.get(c, ())) for c in large)  # no city shrinks
    # Every area has a block at least, so the smallest cities do not grow at first: the nation's cities
    # overall grow less than their units (10x), big ones in proportion.
    assert sum(map(len, large.values())) > 4 * sum(map(len, small.values()))
    # A town of one neighbourhood: blocks in proportion to its units, extent as their square root.
    jobs = [j for j in plans[10_000_000].jobs if j.blocks]
    one = [j for j in jobs if sum(k.locality_id == j.locality_id for k in jobs) == 1]
    town = max(one, key=lambda j: j.units).locality_id
    assert len(large[town]) > 5 * len(small[town])  # (small areas plan a wider margin for bad luck)
    assert _extent_km(plans[10_000_000], town, large[town]) > 2 * _extent_km(plans[1_000_000], town, small[town])


def _area(units: int, n_blocks: int, rng: random.Random) -> tuple[Area, Rows, float]:
    rows = Rows()
    routes = list(range(13456, 13456 + urban_routes_needed(units)))
    area = Area(1, 1, block_run(51.4, 35.7, n_blocks), "city", NamePicker(rng), UrbanSequence(routes))
    density = generate_area(area, units, rng, Ids(), rows)
    return area, rows, density


def test_short_blocks_pack_denser_without_collisions() -> None:
    rng = random.Random(5)
    need = blocks_needed(6000, "city")
    assert _area(6000, need, rng)[2] == 1.0
    area, rows, density = _area(6000, max(1, need // 4), rng)
    assert density > 2
    lat = np.array([b[8] for b in rows.buildings])
    lon = np.array([b[9] for b in rows.buildings])
    assert nearest_other(lat, lon).min() > 6.9
    # Every building inside its area's own blocks, a few metres clear of their edges.
    col = np.floor((lon - lattice.LON0) / lattice.DLON).astype(np.int64)
    row = np.floor((lat - lattice.LAT0) / lattice.DLAT).astype(np.int64)
    assert set(lattice.keys_of(col, row).tolist()) <= set(area.blocks)
    # Past what a block's comb holds, quarter blocks at half scale: still 3.5 m between buildings.
    assert {g.slot.scale for g in plan_groups(rng, 800, block_run(51.4, 35.7, 1))[1]} == {0.5}
    area, rows, density = _area(3500, 1, rng)
    lat = np.array([b[8] for b in rows.buildings])
    lon = np.array([b[9] for b in rows.buildings])
    assert density > 10 and 3.49 < nearest_other(lat, lon).min() < 6.9
    with pytest.raises(NoRoomError):
        plan_groups(rng, 100_000, block_run(51.4, 35.7, 1))
