"""The plan of a generated registry: every decision above the street, made by one process, cheap.

Units are spread over counties in proportion to the 2016 census, inside a county over its cities (the
largest share to the county seat) and its rural districts' villages; cities get neighbourhoods (Tehran
its real 568, in their real regions). Each city grows from its real centre over free blocks of the
national lattice (:mod:`jinef.write.ingest.lattice`) that lie inside its county and province, as many as its
neighbourhoods' expected buildings need, and each neighbourhood gets a compact run of them; villages get
blocks around random points of their county. The plan yields independent *area jobs*, each with its own
random stream, its own postcode routes and its own blocks, so jobs can run on all cores in any order.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from jinef.model.address import LocalityType
from jinef.write.ingest import lattice
from jinef.write.ingest import vocabulary as vocab
from jinef.write.ingest.apportion import apportion
from jinef.write.ingest.block_claims import MARGIN_DEG, BlockClaims
from jinef.write.ingest.comb import NoRoomError
from jinef.write.ingest.placement import Region
from jinef.write.ingest.postcode_allocator import RouteAllocator, rural_routes_needed, urban_routes_needed
from jinef.write.ingest.streets import SizeClass, blocks_needed
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.refdata.tehran import TehranNeighbourhood

MAX_VILLAGE_UNITS = 250


@dataclass(frozen=True)
class AreaJob:
    """One independent piece of work: a city neighbourhood, an industrial estate, or a rural district."""

    index: int
    seed_key: str
    county: str
    province: str
    units: int
    routes: tuple[int, ...]
    size: SizeClass
    # city areas: the area's blocks of the national lattice
    locality_id: int = 0
    neighbourhood_id: int | None = None
    blocks: tuple[int, ...] = ()
    # rural districts: each village's units and blocks
    rural_district: str = ""
    district: str = ""
    villages: tuple[tuple[int, tuple[int, ...]], ...] = ()


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
    """A city's size class from its people."""
    if people >= 1_000_000:
        return "metro"
    if people >= 100_000:
        return "city"
    return "town"


def village_count(units: int) -> int:
    """How many villages a rural district's units are spread over."""
    if units <= 0:
        return 0
    return max(1, min(40, round(units / 60)), math.ceil(units / MAX_VILLAGE_UNITS))


def _regions(div: Divisions, bnd: Boundaries) -> dict[str, Region]:
    """Each county's region: its polygon (its province's when it has none) within its province's."""
    out = {}
    for code, c in div.counties.items():
        prov = bnd.provinces.get(c.province_code)
        if prov is None:
            raise ValueError(f"province {c.province_code} has no polygon: cannot place its units")
        out[code] = Region(bnd.counties.get(code, prov), prov)
    return out


@dataclass
class _CityPlan:
    """A city's centre and its area jobs to come: (neighbourhood id, units, size), the industrial estate last."""

    name: str
    loc: int
    lon: float
    lat: float
    areas: list[tuple[int, int, SizeClass]] = field(default_factory=list)


RURAL_DENSITY = 100.0  # people per km² at most in a county's villages (Gilan's and Mazandaran's are 60-70)
ROOM_SHARE = 0.8  # of a county's area (less a border strip) that its blocks may fill before they pack denser


class Planner:
    """Makes the decisions above the neighbourhood and yields the area jobs, in a fixed order.

    :meth:`run` plans county by county, so that workers can start on the first counties' jobs
    while the rest are being planned. It keeps no job it has yielded (their blocks add up to ~20 MB at
    30M units) unless ``keep_jobs``, which :meth:`planned` sets.
    """

    def __init__(self, n_units: int, seed: int, div: Divisions, regions: dict[str, Region],
                 tehran: list[TehranNeighbourhood], keep_jobs: bool = False) -> None:
        self.n, self.seed, self.div, self.regions, self.tehran = n_units, seed, div, regions, tehran
        self.localities: list[tuple[object, ...]] = []
        self.neighbourhoods: list[tuple[object, ...]] = []
        self.jobs: list[AreaJob] = []  # all jobs with keep_jobs, else those of the county being planned
        self.keep_jobs = keep_jobs
        self.n_jobs = 0
        self.weights = _county_weights(div)
        self.codes = sorted(div.counties)
        self.per_county = dict(zip(self.codes, apportion(n_units, [self.weights[c] for c in self.codes]),
                                   strict=True))
        self.blocks = BlockClaims()
        self.allocator = RouteAllocator(self.per_county, {c: div.counties[c].province_code for c in self.codes})

    def run(self) -> Iterator[AreaJob]:
        """Plan every county in order, yielding each county's jobs as soon as they are made (once)."""
        for code in self.codes:
            if not self.keep_jobs:
                self.jobs.clear()
            start = len(self.jobs)
            self._county(code, self.per_county[code], self.weights[code])
            yield from self.jobs[start:]
        if not self.keep_jobs:
            self.jobs.clear()

    @classmethod
    def planned(cls, n_units: int, seed: int, div: Divisions, regions: dict[str, Region],
                tehran: list[TehranNeighbourhood]) -> Planner:
        """A planner that has planned everything (its ``jobs``, ``localities`` and ``neighbourhoods`` complete)."""
        plan = cls(n_units, seed, div, regions, tehran, keep_jobs=True)
        for _ in plan.run():
            pass
        return plan

    def _job(self, **kw: object) -> None:
        self.n_jobs += 1
        index = self.n_jobs
        self.jobs.append(AreaJob(index=index, seed_key=f"{self.seed}:{index}", **kw))  # type: ignore[arg-type]

    def _county(self, code: str, units: int, people: float) -> None:
        div = self.div
        rng = random.Random(f"{self.seed}:{code}")
        county = div.counties[code]
        cities = div.cities_of(code)
        rurals = div.rural_districts_of(code)
        urban_share = rng.uniform(0.62, 0.85) if rurals else 1.0
        # Villages hold at most RURAL_DENSITY people per km² of the county: a metropolitan county (Tehran,
        # Eslamshahr, Baharestan...) is nearly all town, as in the census, and has room for its cities.
        area = self.regions[code].area_km2
        if people > 0:
            urban_share = max(urban_share, 1.0 - RURAL_DENSITY * area / people)
        if not cities:
            urban_share = 0.0
        urban = round(units * urban_share)
        seat = div.seat_of(code)
        others = [c for c in cities if seat is None or c.code != seat.code]
        city_list = ([seat] if seat else []) + others
        w_others = [rng.lognormvariate(0, 0.8) for _ in others]
        w = ([2.5 * sum(w_others) if w_others else 1.0] if seat else []) + w_others
        city_units = apportion(urban, w)
        city_people = apportion(round(people * urban_share), w)
        cities_planned = [self._city(city.code, code, county.province_code, cu, cp, rng)
                          for city, cu, cp in zip(city_list, city_units, city_people, strict=True)]
        plans = [p for p in cities_planned if p is not None]
        rw = [rng.lognormvariate(0, 0.5) for _ in rurals]
        rural = [(rd, ru, village_sizes(ru, rng)) for rd, ru in zip(rurals, apportion(units - urban, rw), strict=True)
                 if ru]
        wanted = [[blocks_needed(u, sz) for _h, u, sz in p.areas] for p in plans]
        needs = [[blocks_needed(vu, "village") for vu in sizes] for _rd, _ru, sizes in rural]
        # A county with less room than its areas want gives each a share (at least a block): they pack denser.
        demand = sum(map(sum, wanted)) + sum(map(sum, needs))
        share = min(1.0, self._room(code) / demand) if demand else 1.0
        if share < 1.0:
            wanted = [[max(1, round(w * share)) for w in ws] for ws in wanted]
            needs = [[max(1, round(n * share)) for n in ns] for ns in needs]
        region = self.regions[code]
        for p, ws in zip(plans, wanted, strict=True):
            runs = self._city_blocks(region, p.lon, p.lat, ws, p.name)
            for (hid, hu, sz), blocks in zip(p.areas, runs, strict=True):
                self._job(county=code, province=county.province_code, units=hu, size=sz, locality_id=p.loc,
                          neighbourhood_id=hid, routes=tuple(self.allocator.take_many(code, urban_routes_needed(hu))),
                          blocks=blocks)
        for (rd, ru, sizes), ns in zip(rural, needs, strict=True):
            blocks_of = self.blocks.villages(region, ns, rng)
            routes = tuple(self.allocator.take_many(code, rural_routes_needed(len(sizes))))
            self._job(county=code, province=county.province_code, units=ru, routes=routes, size="village",
                      rural_district=rd.code, district=rd.district_code,
                      villages=tuple((vu, tuple(b)) for vu, b in zip(sizes, blocks_of, strict=True)))

    def _room(self, code: str) -> float:
        """About how many blocks fit in a county: its area less a border strip, in cells, with some to spare."""
        poly = self.regions[code].county
        reach = lattice.CELL_REACH_DEG + MARGIN_DEG
        return ROOM_SHARE * max(0.0, poly.area - poly.length * reach) / (lattice.DLON * lattice.DLAT)

    def _city(self, city_code: str, county: str, prov: str, units: int, people: float,
              rng: random.Random) -> _CityPlan | None:
        """The city's locality and neighbourhood rows, and its area jobs to come (None when it has no units)."""
        c = self.div.cities[city_code]
        region = self.regions[county]
        if c.lat is not None and c.lon is not None:
            lon, lat = region.inside_point(c.lon, c.lat, rng)
        else:
            lon, lat = region.random_point(rng)
        loc = len(self.localities) + 1
        self.localities.append((loc, LocalityType.CITY.value, c.name, city_code, prov, county, c.district_code,
                                None, round(lat, 7), round(lon, 7)))
        if units <= 0:
            return None
        size = _size_class(people)
        is_tehran = c.name == "تهران" and self.div.counties[county].name == "تهران"
        hoods = self._tehran_hoods(rng) if is_tehran else self._hoods(rng, people)
        industrial = people >= 50_000 and units >= 40
        ind_units = round(units * 0.03) if industrial else 0
        hood_units = apportion(units - ind_units, [h[1] for h in hoods])
        plan = _CityPlan(c.name, loc, lon, lat)
        for (hname, _w), hu in zip(hoods, hood_units, strict=True):
            hid = len(self.neighbourhoods) + 1
            self.neighbourhoods.append((hid, loc, hname))
            if hu:
                plan.areas.append((hid, hu, size))
        if ind_units:
            hid = len(self.neighbourhoods) + 1
            self.neighbourhoods.append((hid, loc, f"شهرک صنعتی {c.name}"))
            plan.areas.append((hid, ind_units, "industrial"))
        return plan

    def _city_blocks(self, region: Region, lon: float, lat: float, wanted: list[int],
                     name: str) -> list[tuple[int, ...]]:
        """A city's blocks, grown from its centre, split into compact runs, one per area job.

        A county without room for all the blocks gives each area a share of what it has (at least one
        block each): those areas pack their blocks denser (see :func:`jinef.write.ingest.comb.plan_groups`).
        """
        got = np.array(self.blocks.near(region, lon, lat, sum(wanted)), dtype=np.int64)
        if len(got) < len(wanted):
            raise NoRoomError(f"{name}: {len(got)} free blocks in its county for {len(wanted)} areas")
        counts = wanted
        if len(got) < sum(wanted):
            counts = [1 + k for k in apportion(len(got) - len(wanted), wanted)]
        got = got[lattice.hilbert_order(got)]
        out, at = [], 0
        for k in counts:
            out.append(tuple(int(b) for b in got[at : at + k]))
            at += k
        return out

    def _hoods(self, rng: random.Random, people: float) -> list[tuple[str, float]]:
        """Generated neighbourhoods: (name, weight)."""
        k = max(1, min(80, round(people / 15_000)))
        used: set[str] = set()
        out = []
        for i in range(k):
            nm = ""
            for _ in range(10):
                pattern = rng.choice(vocab.NEIGHBOURHOOD_PATTERNS)
                words = rng.choice((vocab.VIRTUES, vocab.FLOWERS, vocab.SCHOLARS, vocab.PLACES, vocab.FIRST_NAMES))
                nm = pattern.format(rng.choice(words))
                if nm not in used:
                    break
            else:
                nm = f"{nm} {i}"
            used.add(nm)
            out.append((nm, rng.lognormvariate(0, 0.5)))
        return out

    def _tehran_hoods(self, rng: random.Random) -> list[tuple[str, float]]:
        """Tehran's real neighbourhoods, region by region (so that a region's blocks are next to each other)."""
        regions = sorted({h.region for h in self.tehran})
        hoods = sorted(self.tehran, key=lambda h: regions.index(h.region))
        return [(h.name, rng.lognormvariate(0, 0.4)) for h in hoods]


def village_sizes(units: int, rng: random.Random) -> list[int]:
    """Units of each village of a rural district (at most MAX_VILLAGE_UNITS each: serials stay within 3 digits)."""
    n = village_count(units)
    sizes = apportion(units, [rng.lognormvariate(0, 0.7) for _ in range(n)])
    # Re-balance any village above the cap onto the smallest ones.
    while max(sizes) > MAX_VILLAGE_UNITS:
        i, j = sizes.index(max(sizes)), sizes.index(min(sizes))
        move = min(sizes[i] - MAX_VILLAGE_UNITS, MAX_VILLAGE_UNITS - sizes[j])
        sizes[i] -= move
        sizes[j] += move
    return sizes
