"""The generated registry: realistic, rule-abiding, deterministic, inside the real polygons."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import shapely

from jinef.model import postcode as pc
from jinef.model.address import EXPORT_COLUMNS
from jinef.read.registry.registry import Registry
from jinef.write.export.addresses import write_export
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.open import open_reader
from tests.conftest import SMALL_SEED, SMALL_UNITS, build_registry


def export_text(path: Path) -> str:
    buf = io.StringIO()
    with Registry.open(path) as reg:
        write_export(reg.addresses(), buf, "csv")
    return buf.getvalue()


def test_unit_count_and_header(small_registry: Path) -> None:
    text = export_text(small_registry)
    lines = text.splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    assert len(lines) - 1 == SMALL_UNITS


def test_postcodes_valid_and_unique(small_registry: Path) -> None:
    with Registry.open(small_registry) as reg:
        codes = [a.postcode for a in reg.addresses()]
    assert len(codes) == len(set(codes)) == SMALL_UNITS
    assert all(pc.is_valid(c) for c in codes)


def test_same_seed_same_bytes(tmp_path: Path, divisions: Divisions, boundaries: Boundaries,
                              small_registry: Path) -> None:
    # Jobs are independent: two worker processes give the same bytes as one.
    again = build_registry(tmp_path / "again.sqlite", SMALL_UNITS, SMALL_SEED, divisions, boundaries, workers=2)
    assert export_text(again) == export_text(small_registry)
    # The workers' shard files are merged and gone: only the registry is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.image", "again.sqlite"]
    other = build_registry(tmp_path / "other.sqlite", SMALL_UNITS, SMALL_SEED + 1, divisions, boundaries)
    assert export_text(other) != export_text(small_registry)


def test_every_point_inside_its_province_and_county(small_registry: Path, divisions: Divisions,
                                                     boundaries: Boundaries) -> None:
    by_name = {p.name: code for code, p in divisions.provinces.items()}
    county_by = {(c.province_code, c.name): code for code, c in divisions.counties.items()}
    with Registry.open(small_registry) as reg:
        rows = [(a.province, a.county, a.lon, a.lat) for a in reg.addresses()]
    for prov_name in {r[0] for r in rows}:
        code = by_name[prov_name]
        pts = [r for r in rows if r[0] == prov_name]
        lon = np.array([r[2] for r in pts])
        lat = np.array([r[3] for r in pts])
        assert shapely.contains_xy(boundaries.provinces[code], lon, lat).all(), prov_name
        for county_name in {r[1] for r in pts}:
            ccode = county_by[(code, county_name)]
            poly = boundaries.counties.get(ccode)
            if poly is None:
                continue
            sel = [i for i, r in enumerate(pts) if r[1] == county_name]
            assert shapely.contains_xy(poly, lon[sel], lat[sel]).all(), county_name


def test_units_follow_population(small_registry: Path) -> None:
    with open_reader(small_registry) as reader:
        stats = {s.province: s for s in reader.stats()}
    # Tehran province holds about 16% of Iran's people; Ilam under 1%.
    assert 0.13 < stats["تهران"].units / SMALL_UNITS < 0.19
    assert stats["ایلام"].units / SMALL_UNITS < 0.012
    assert all(s.geocoded_share == 1.0 for s in stats.values() if s.units)


def test_realistic_mix(small_registry: Path) -> None:
    with Registry.open(small_registry) as reg:
        addrs = list(reg.addresses())
    usage = Counter(a.usage for a in addrs)
    assert usage["residential"] / len(addrs) > 0.6
    assert usage["commercial"] > 0 and usage["workshop"] > 0
    kinds = Counter(a.last_thoroughfare.split()[0] for a in addrs)
    assert {"خیابان", "کوچه", "بن‌بست"} <= set(kinds)
    assert any(a.floor == 0 for a in addrs) and any(a.floor and a.floor > 3 for a in addrs)
    assert any(a.building for a in addrs)
    assert any(a.locality_type == "روستا" and a.rural_district for a in addrs)
    # Alleys are written both as ordinal words and as numbers.
    alleys = [a.last_thoroughfare for a in addrs if a.last_thoroughfare.startswith("کوچه")]
    assert any(x.endswith("م") for x in alleys) and any(x.split()[-1].strip("۰۱۲۳۴۵۶۷۸۹") == "" for x in alleys)


def test_tehran_real_neighbourhoods(small_registry: Path) -> None:
    from jinef.write.refdata.tehran import load_tehran_neighbourhoods

    real = {h.name for h in load_tehran_neighbourhoods()}
    with Registry.open(small_registry) as reg:
        hoods = {a.neighbourhood for a in reg.addresses() if a.locality == "تهران" and a.county == "تهران"}
    assert hoods and hoods - {n for n in hoods if n.startswith("شهرک صنعتی")} <= real


def test_units_of_a_building_share_its_point(small_registry: Path) -> None:
    with Registry.open(small_registry) as reg:
        pts: dict[int, set[tuple[float | None, float | None]]] = {}
        for a in reg.addresses():
            assert a.building_id is not None
            pts.setdefault(a.building_id, set()).add((a.lat, a.lon))
    assert all(len(v) == 1 for v in pts.values())


def block_run(lon: float, lat: float, n: int) -> tuple[int, ...]:
    """``n`` lattice cells in a row eastwards from a point."""
    from jinef.write.ingest import lattice

    col, row = lattice.cell_of(lon, lat)
    return tuple(int(k) for k in lattice.keys_of(np.arange(col, col + n), np.full(n, row)))


def test_metro_area_has_towers_with_entrances_and_shops() -> None:
    import random

    from jinef.write.ingest.postcode_allocator import UrbanSequence, urban_routes_needed
    from jinef.write.ingest.streets import Area, Ids, NamePicker, Rows, blocks_needed, generate_area

    rng = random.Random(3)
    rows = Rows()
    routes = list(range(13456, 13456 + urban_routes_needed(5000)))
    area = Area(1, 1, block_run(51.4, 35.7, blocks_needed(5000, "metro")), "metro", NamePicker(rng),
                UrbanSequence(routes))
    assert generate_area(area, 5000, rng, Ids(), rows) == 1.0  # the planned blocks hold it at the normal density
    assert len(rows.units) == 5000
    assert any(b[6] for b in rows.buildings)  # entrance
    assert any(u[3] == 0 and u[5] == "commercial" for u in rows.units)  # ground-floor shops
    codes = [u[1] for u in rows.units]
    assert len(set(codes)) == len(codes) and all(pc.is_valid(pc.from_int(c)) for c in codes)


def test_every_unit_has_its_own_standard_address(small_registry: Path) -> None:
    # A certificate names only the last two thoroughfares: the generator must never give two units one address.
    with Registry.open(small_registry) as reg:
        addresses = [a.standard_address for a in reg.addresses()]
    assert len(set(addresses)) == len(addresses)


def test_chunks_cover_the_plan_in_order(divisions: Divisions, boundaries: Boundaries) -> None:
    from jinef.write.ingest.generate import MAX_CHUNK_UNITS, Planner, _regions, chunks
    from jinef.write.refdata.tehran import load_tehran_neighbourhoods

    regions = _regions(divisions, boundaries)
    plan = Planner.planned(300_000, SMALL_SEED, divisions, regions, load_tehran_neighbourhoods())
    # Planning as it goes (as a parallel build does) gives the same jobs in the same order.
    streamed = Planner(300_000, SMALL_SEED, divisions, regions, load_tehran_neighbourhoods())
    runs = list(chunks(streamed.run(), 300_000, 2))
    assert [j for run in runs for j in run] == plan.jobs
    assert streamed.localities == plan.localities and streamed.neighbourhoods == plan.neighbourhoods
    assert sum(j.units for j in plan.jobs) == 300_000
    sizes = [sum(j.units for j in run) for run in runs]
    assert len(runs) > 4 and max(sizes) < 2 * MAX_CHUNK_UNITS
