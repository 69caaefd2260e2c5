"""A realistic national registry on Iran's real divisions, deterministic for a seed, streamed to a store.

Units are spread over counties in proportion to the 2016 census, inside a county over its
cities (the largest share to the county seat) and its rural districts' villages; cities get
neighbourhoods (Tehran its real 568, in their real regions), streets, buildings and units.
Each county draws from its own random stream, so the output is the same for the same seed
and memory stays bounded: rows are written area by area.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jinef.ingest import vocabulary as vocab
from jinef.ingest.apportion import apportion
from jinef.ingest.placement import Region
from jinef.ingest.postcode_allocator import RouteAllocator, RuralSequence, UrbanSequence
from jinef.ingest.streets import Area, Ids, NamePicker, Rows, SizeClass, generate_area
from jinef.refdata.boundaries import Boundaries, load_boundaries
from jinef.refdata.divisions import Divisions, load_divisions
from jinef.refdata.tehran import TehranNeighbourhood, load_tehran_neighbourhoods
from jinef.registry.model import LocalityType
from jinef.store.base import RegistryWriter

DEFAULT_UNITS = 200_000
DEFAULT_SEED = 1404
NATIONAL_POPULATION = 79_926_270  # 2016 census; sizes settlements independently of the unit count
MAX_VILLAGE_UNITS = 250
FLUSH_ROWS = 50_000


@dataclass(frozen=True)
class BuildSummary:
    """What a build produced."""

    units: int
    buildings: int
    thoroughfares: int
    localities: int
    seconds: float


def _county_weights(div: Divisions) -> dict[str, float]:
    """Census population per county; newer counties get their province's median county figure."""
    out: dict[str, float] = {}
    for prov in div.provinces:
        counties = div.counties_of(prov)
        known = [c.population for c in counties if c.population]
        median = statistics.median(known) if known else 1.0
        for c in counties:
            out[c.code] = float(c.population or median)
    return out


def _size_class(people: float) -> SizeClass:
    if people >= 1_000_000:
        return "metro"
    if people >= 100_000:
        return "city"
    return "town"


class _Builder:
    def __init__(self, writer: RegistryWriter, n_units: int, seed: int, div: Divisions, bnd: Boundaries,
                 tehran: list[TehranNeighbourhood], progress: Callable[[int], None] | None) -> None:
        self.w = writer
        self.n = n_units
        self.seed = seed
        self.div = div
        self.bnd = bnd
        self.tehran = tehran
        self.progress = progress
        self.ids = Ids()
        self.rows = Rows()
        self.locality_id = 0
        self.neighbourhood_id = 0
        self.localities: list[tuple[object, ...]] = []
        self.neighbourhoods: list[tuple[object, ...]] = []
        self.units_done = 0
        self.moved = 0

    def flush(self, force: bool = False) -> None:
        r = self.rows
        if not force and len(r.units) < FLUSH_ROWS:
            return
        self.w.add("localities", self.localities)
        self.w.add("neighbourhoods", self.neighbourhoods)
        self.w.add("thoroughfares", r.thoroughfares)
        self.w.add("buildings", r.buildings)
        self.w.add("units", r.units)
        self.units_done += len(r.units)
        if self.progress:
            self.progress(len(r.units))
        self.localities, self.neighbourhoods = [], []
        self.rows = Rows()

    def run(self) -> None:
        div = self.div
        self.w.add("provinces", [(p.code, p.name) for p in div.provinces.values()])
        self.w.add("counties", [(c.code, c.name, c.province_code) for c in div.counties.values()])
        self.w.add("districts", [(d.code, d.name, d.county_code) for d in div.districts.values()])
        self.w.add("rural_districts", [(r.code, r.name, r.county_code, r.district_code)
                                       for r in div.rural_districts.values()])
        weights = _county_weights(div)
        codes = sorted(div.counties)
        per_county = dict(zip(codes, apportion(self.n, [weights[c] for c in codes]), strict=True))
        self.people_per_unit = sum(weights.values()) / max(self.n, 1)
        self.allocator = RouteAllocator(per_county, {c: div.counties[c].province_code for c in codes})
        for code in codes:
            self.county(code, per_county[code], weights[code])
            self.flush()
        self.flush(force=True)

    def county(self, code: str, units: int, people: float) -> None:
        div = self.div
        rng = random.Random(f"{self.seed}:{code}")
        first_building, first_locality = len(self.rows.buildings), len(self.localities)
        county = div.counties[code]
        prov_poly = self.bnd.provinces.get(county.province_code)
        if prov_poly is None:
            raise ValueError(f"province {county.province_code} has no polygon: cannot place its units")
        region = Region(self.bnd.counties.get(code, prov_poly), prov_poly)
        cities = div.cities_of(code)
        rurals = div.rural_districts_of(code)
        urban_share = rng.uniform(0.62, 0.85) if rurals else 1.0
        if not cities:
            urban_share = 0.0
        urban = round(units * urban_share)
        rural = units - urban
        seat = div.seat_of(code)
        others = [c for c in cities if seat is None or c.code != seat.code]
        city_list = ([seat] if seat else []) + others
        w_others = [rng.lognormvariate(0, 0.8) for _ in others]
        w = ([2.5 * sum(w_others) if w_others else 1.0] if seat else []) + w_others
        city_units = apportion(urban, w)
        city_people = apportion(round(people * urban_share), w)
        for city, cu, cp in zip(city_list, city_units, city_people, strict=True):
            self.city(city.code, city.name, city.district_code, code, county.province_code, cu, cp, region, rng)
        if rural:
            rw = [rng.lognormvariate(0, 0.5) for _ in rurals]
            for rd, ru in zip(rurals, apportion(rural, rw), strict=True):
                self.villages(rd.code, rd.name, rd.district_code, code, county.province_code, ru, region, rng)
        self._guard(region, first_building, first_locality)

    def _guard(self, region: Region, first_building: int, first_locality: int) -> None:
        """Vectorised check that the county's points are inside; any stray one goes to its locality's centre.

        Placement keeps points inside by construction; this only guards against rounding at a border.
        """
        rows = self.rows.buildings[first_building:]
        if not rows:
            return
        lon = np.fromiter((r[9] for r in rows), dtype=np.float64, count=len(rows))
        lat = np.fromiter((r[8] for r in rows), dtype=np.float64, count=len(rows))
        bad = np.flatnonzero(~region.contains(lon, lat))
        if not len(bad):
            return
        centre = {row[0]: (row[8], row[9]) for row in self.localities[first_locality:]}
        for i in bad:
            r = rows[i]
            clat, clon = centre[r[1]]
            self.rows.buildings[first_building + int(i)] = (*r[:8], clat, clon, *r[10:])
        self.moved += len(bad)

    def _locality(self, kind: str, name: str, code: str, prov: str, county: str, district: str,
                  rural: str | None, lon: float, lat: float) -> int:
        self.locality_id += 1
        self.localities.append((self.locality_id, kind, name, code, prov, county, district, rural,
                                round(lat, 7), round(lon, 7)))
        return self.locality_id

    def city(self, city_code: str, name: str, district: str, county: str, prov: str, units: int,
             people: float, region: Region, rng: random.Random) -> None:
        c = self.div.cities[city_code]
        if c.lat is not None and c.lon is not None:
            lon, lat = region.inside_point(c.lon, c.lat, rng)
        else:
            lon, lat = region.random_point(rng)
        share = people / NATIONAL_POPULATION
        radius = min(0.6 + 12 * math.sqrt(share * 10), 0.8 * region.clearance_km(lon, lat))
        loc = self._locality(LocalityType.CITY.value, name, city_code, prov, county, district, None, lon, lat)
        if units <= 0:
            return
        size = _size_class(people)
        names = NamePicker(rng)
        is_tehran = name == "تهران" and self.div.counties[county].name == "تهران"
        hoods = self._tehran_hoods(rng) if is_tehran else self._hoods(rng, people)
        industrial = people >= 50_000 and units >= 40
        ind_units = round(units * 0.03) if industrial else 0
        hood_units = apportion(units - ind_units, [h[1] for h in hoods])
        seq = UrbanSequence(self.allocator, county)
        for (hname, _w, hx, hy), hu in zip(hoods, hood_units, strict=True):
            self.neighbourhood_id += 1
            self.neighbourhoods.append((self.neighbourhood_id, loc, hname))
            hr = radius / math.sqrt(len(hoods)) * 0.9
            # The neighbourhood's disc must stay inside the city's disc, which is clear of borders.
            reach = math.hypot(hx, hy) * radius
            scale = min(1.0, (radius - hr) / reach) if reach > 0 else 0.0
            cx, cy = hx * radius * scale, hy * radius * scale
            area = Area(loc, self.neighbourhood_id, lon + cx / (111.32 * math.cos(math.radians(lat))),
                        lat + cy / 111.32, hr, size, names, seq)
            generate_area(area, hu, rng, self.ids, self.rows)
        if ind_units:
            self.neighbourhood_id += 1
            self.neighbourhoods.append((self.neighbourhood_id, loc, f"شهرک صنعتی {name}"))
            a = rng.random() * 2 * math.pi
            area = Area(loc, self.neighbourhood_id,
                        lon + 0.8 * radius * math.cos(a) / (111.32 * math.cos(math.radians(lat))),
                        lat + 0.8 * radius * math.sin(a) / 111.32, radius * 0.15, "industrial",
                        NamePicker(rng, industrial=True), UrbanSequence(self.allocator, county))
            generate_area(area, ind_units, rng, self.ids, self.rows)

    def _hoods(self, rng: random.Random, people: float) -> list[tuple[str, float, float, float]]:
        """Generated neighbourhoods: (name, weight, x, y) with x, y as fractions of the city radius."""
        k = max(1, min(80, round(people / 15_000)))
        used: set[str] = set()
        out = []
        for i in range(k):
            for _ in range(10):
                pattern = rng.choice(vocab.NEIGHBOURHOOD_PATTERNS)
                word = rng.choice(rng.choice((vocab.VIRTUES, vocab.FLOWERS, vocab.SCHOLARS, vocab.PLACES,
                                               vocab.FIRST_NAMES)))
                nm = pattern.format(word)
                if nm not in used:
                    break
            else:
                nm = f"{nm} {i}"
            used.add(nm)
            rr = 0.75 * math.sqrt(rng.random()) if k > 1 else 0.0
            a = rng.random() * 2 * math.pi
            out.append((nm, rng.lognormvariate(0, 0.5), rr * math.cos(a), rr * math.sin(a)))
        return out

    def _tehran_hoods(self, rng: random.Random) -> list[tuple[str, float, float, float]]:
        """Tehran's real neighbourhoods, grouped by region on a grid of the city's disc."""
        regions = sorted({h.region for h in self.tehran})
        side = math.ceil(math.sqrt(len(regions)))
        out = []
        for h in self.tehran:
            ri = regions.index(h.region)
            gx = (ri % side + 0.5) / side * 2 - 1
            gy = 1 - (ri // side + 0.5) / side * 2
            jx = gx * 0.6 + (rng.random() - 0.5) * 0.25
            jy = gy * 0.6 + (rng.random() - 0.5) * 0.25
            out.append((h.name, rng.lognormvariate(0, 0.4), jx, jy))
        return out

    def villages(self, rd_code: str, rd_name: str, district: str, county: str, prov: str, units: int,
                 region: Region, rng: random.Random) -> None:
        n = max(1, min(40, round(units / 60)), math.ceil(units / MAX_VILLAGE_UNITS))
        weights = [rng.lognormvariate(0, 0.7) for _ in range(n)]
        sizes = apportion(units, weights)
        # Re-balance any village above the cap onto the smallest ones (keeps serials within 3 digits).
        while max(sizes) > MAX_VILLAGE_UNITS:
            i, j = sizes.index(max(sizes)), sizes.index(min(sizes))
            move = min(sizes[i] - MAX_VILLAGE_UNITS, MAX_VILLAGE_UNITS - sizes[j])
            sizes[i] -= move
            sizes[j] += move
        seq = RuralSequence(self.allocator, county)
        used: set[str] = set()
        for i, vu in enumerate(sizes):
            nm = ""
            for _ in range(10):
                nm = rng.choice(vocab.VILLAGE_PATTERNS).format(rng.choice(vocab.VILLAGE_STEMS))
                if nm not in used:
                    break
            else:
                nm = f"{nm} {i}"
            used.add(nm)
            lon, lat = region.random_point(rng)
            radius = min(0.35, 0.8 * region.clearance_km(lon, lat))
            kind = LocalityType.HAMLET.value if vu <= 5 else LocalityType.VILLAGE.value
            loc = self._locality(kind, nm, f"{rd_code}-{i + 1:03d}", prov, county, district, rd_code, lon, lat)
            seq.next_village()
            area = Area(loc, None, lon, lat, radius, "village", NamePicker(rng), seq)
            generate_area(area, vu, rng, self.ids, self.rows)


def generate(
    writer: RegistryWriter,
    n_units: int = DEFAULT_UNITS,
    seed: int = DEFAULT_SEED,
    divisions: Divisions | None = None,
    boundaries: Boundaries | None = None,
    progress: Callable[[int], None] | None = None,
) -> BuildSummary:
    """Generate a registry of ``n_units`` units into ``writer`` (the caller commits)."""
    if n_units < 0:
        raise ValueError("the number of units must not be negative")
    t0 = time.perf_counter()
    div = divisions or load_divisions()
    bnd = boundaries or load_boundaries(div)
    b = _Builder(writer, n_units, seed, div, bnd, load_tehran_neighbourhoods(), progress)
    b.run()
    writer.add("meta", [("seed", str(seed)), ("units_requested", str(n_units)), ("source", "generated"),
                        ("points_moved_inside", str(b.moved))])
    return BuildSummary(b.units_done, b.ids.building, b.ids.thoroughfare, b.locality_id,
                        time.perf_counter() - t0)
