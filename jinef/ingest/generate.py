"""A realistic national registry on Iran's real divisions, deterministic for a seed, streamed to a store.

Units are spread over counties in proportion to the 2016 census, inside a county over its
cities (the largest share to the county seat) and its rural districts' villages; cities get
neighbourhoods (Tehran its real 568, in their real regions), streets, buildings and units.

The build runs in two phases. The *plan* (one process, cheap) makes every decision above the
neighbourhood: units per county and city, city centres inside the polygons, neighbourhoods,
postcode routes. It yields independent *area jobs*, each with its own random stream, its own
routes and its own id range, so jobs can run on all cores in any order and the output is the
same bytes for the same seed whatever the number of workers. A worker task is a run of
consecutive jobs; with a writer that takes shards (SQLite) the worker writes the run's rows into
its own shard and the writer appends the shards in plan order, so rows never pass through the main
process one by one. Memory stays bounded at any registry size.
"""

from __future__ import annotations

import gc
import math
import multiprocessing as mp
import os
import random
import statistics
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from operator import itemgetter

import numpy as np

from jinef.ingest import lattice
from jinef.ingest import vocabulary as vocab
from jinef.ingest.apportion import apportion
from jinef.ingest.block_claims import MARGIN_DEG, BlockClaims
from jinef.ingest.comb import DENSITY_BOUNDS, NoRoomError
from jinef.ingest.placement import Region
from jinef.ingest.postcode_allocator import (
    RouteAllocator,
    RuralSequence,
    UrbanSequence,
    rural_routes_needed,
    urban_routes_needed,
)
from jinef.ingest.streets import (
    BUILDING_COLUMNS,
    UNIT_COLUMNS,
    Area,
    Ids,
    NamePicker,
    Rows,
    SizeClass,
    blocks_needed,
    generate_area,
)
from jinef.refdata.boundaries import Boundaries, load_boundaries
from jinef.refdata.cache import load_boundaries_cached
from jinef.refdata.divisions import Divisions, load_divisions
from jinef.refdata.tehran import TehranNeighbourhood, load_tehran_neighbourhoods
from jinef.registry.model import LocalityType
from jinef.store.base import RegistryWriter, Shard, ShardedWriter, ShardSet

DEFAULT_UNITS = 200_000
DEFAULT_SEED = 1404
NATIONAL_POPULATION = 79_926_270  # 2016 census; sizes settlements independently of the unit count
MAX_VILLAGE_UNITS = 250
ID_STRIDE = 100_000_000  # ids of job k are k * ID_STRIDE + 1, 2, ...: stable, whatever runs first


@dataclass(frozen=True)
class BuildSummary:
    """What a build produced."""

    units: int
    buildings: int
    thoroughfares: int
    localities: int
    seconds: float


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


@dataclass
class JobResult:
    """Rows made by one job."""

    localities: list[tuple[object, ...]] = field(default_factory=list)
    rows: Rows = field(default_factory=Rows)
    moved: int = 0
    # Areas by how densely their blocks were packed: normal, then up to each of DENSITY_BOUNDS[1:] times, above.
    densities: list[int] = field(default_factory=lambda: [0] * (len(DENSITY_BOUNDS) + 1))


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


def village_count(units: int) -> int:
    """How many villages a rural district's units are spread over."""
    if units <= 0:
        return 0
    return max(1, min(40, round(units / 60)), math.ceil(units / MAX_VILLAGE_UNITS))


def _regions(div: Divisions, bnd: Boundaries) -> dict[str, Region]:
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
    while the rest are being planned.
    """

    def __init__(self, n_units: int, seed: int, div: Divisions, regions: dict[str, Region],
                 tehran: list[TehranNeighbourhood]) -> None:
        self.n, self.seed, self.div, self.regions, self.tehran = n_units, seed, div, regions, tehran
        self.localities: list[tuple[object, ...]] = []
        self.neighbourhoods: list[tuple[object, ...]] = []
        self.jobs: list[AreaJob] = []
        self.weights = _county_weights(div)
        self.codes = sorted(div.counties)
        self.per_county = dict(zip(self.codes, apportion(n_units, [self.weights[c] for c in self.codes]),
                                   strict=True))
        self.blocks = BlockClaims()
        self.allocator = RouteAllocator(self.per_county, {c: div.counties[c].province_code for c in self.codes})

    def run(self) -> Iterator[AreaJob]:
        """Plan every county in order, yielding each county's jobs as soon as they are made (once)."""
        for code in self.codes:
            start = len(self.jobs)
            self._county(code, self.per_county[code], self.weights[code])
            yield from self.jobs[start:]

    @classmethod
    def planned(cls, n_units: int, seed: int, div: Divisions, regions: dict[str, Region],
                tehran: list[TehranNeighbourhood]) -> Planner:
        """A planner that has planned everything (its ``jobs``, ``localities`` and ``neighbourhoods`` complete)."""
        plan = cls(n_units, seed, div, regions, tehran)
        for _ in plan.run():
            pass
        return plan

    def _job(self, **kw: object) -> None:
        index = len(self.jobs) + 1
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
        block each): those areas pack their blocks denser (see :func:`jinef.ingest.comb.plan_groups`).
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


# Set in the parent before forking, so workers share the loaded polygons (and where to write their shards)
# without pickling them.
_REGIONS: dict[str, Region] = {}
_DIVISIONS: Divisions | None = None
_SHARDS: ShardSet | None = None

# A worker task is a run of consecutive jobs: enough units that passing the task and its result costs
# little, few enough that the last tasks leave no core idle for long.
MIN_CHUNK_UNITS = 10_000
MAX_CHUNK_UNITS = 100_000


@dataclass
class ChunkResult:
    """What one worker task made: counts, and its rows unless it wrote them to its shard."""

    index: int
    units: int = 0
    buildings: int = 0
    thoroughfares: int = 0
    localities: int = 0
    moved: int = 0
    densities: list[int] = field(default_factory=lambda: [0] * (len(DENSITY_BOUNDS) + 1))
    results: list[JobResult] = field(default_factory=list)

    def count(self, res: JobResult) -> None:
        """Add one job's counts."""
        self.units += len(res.rows.units)
        self.buildings += len(res.rows.buildings)
        self.thoroughfares += len(res.rows.thoroughfares)
        self.localities += len(res.localities)
        self.moved += res.moved
        self.densities = [a + b for a, b in zip(self.densities, res.densities, strict=True)]

    def add(self, other: ChunkResult) -> None:
        """Add another chunk's counts."""
        self.units += other.units
        self.buildings += other.buildings
        self.thoroughfares += other.thoroughfares
        self.localities += other.localities
        self.moved += other.moved
        self.densities = [a + b for a, b in zip(self.densities, other.densities, strict=True)]


def run_job(job: AreaJob) -> JobResult:
    """Generate one area's rows (pure function of the job and the reference data)."""
    rng = random.Random(job.seed_key)
    base = job.index * ID_STRIDE
    ids = Ids(thoroughfare=base, building=base, unit=base)
    out = JobResult()
    region = _REGIONS[job.county]
    if job.size == "village":
        _villages(job, rng, ids, out)
    else:
        seq = UrbanSequence(list(job.routes))
        area = Area(job.locality_id, job.neighbourhood_id, job.blocks, job.size,
                    NamePicker(rng, industrial=job.size == "industrial"), seq)
        out.densities[bisect_left(DENSITY_BOUNDS, generate_area(area, job.units, rng, ids, out.rows))] += 1
    out.moved = _guard(region, out)
    return out


def _villages(job: AreaJob, rng: random.Random, ids: Ids, out: JobResult) -> None:
    seq = RuralSequence(list(job.routes))
    used: set[str] = set()
    base = job.index * ID_STRIDE
    for i, (vu, blocks) in enumerate(job.villages):
        nm = ""
        for _ in range(10):
            nm = rng.choice(vocab.VILLAGE_PATTERNS).format(rng.choice(vocab.VILLAGE_STEMS))
            if nm not in used:
                break
        else:
            nm = f"{nm} {i}"
        used.add(nm)
        lon, lat = lattice.centre(blocks[0])
        kind = LocalityType.HAMLET.value if vu <= 5 else LocalityType.VILLAGE.value
        loc = base + i + 1
        out.localities.append((loc, kind, nm, f"{job.rural_district}-{i + 1:03d}", job.province, job.county,
                               job.district, job.rural_district, round(lat, 7), round(lon, 7)))
        seq.next_village()
        area = Area(loc, None, blocks, "village", NamePicker(rng), seq)
        out.densities[bisect_left(DENSITY_BOUNDS, generate_area(area, vu, rng, ids, out.rows))] += 1


def _guard(region: Region, out: JobResult) -> int:
    """Vectorised check that the job's points are inside; a stray one goes to its locality's centre.

    Placement keeps points inside by construction; this only guards against rounding at a border.
    """
    rows = out.rows.buildings
    if not rows:
        return 0
    lon = np.fromiter(map(itemgetter(9), rows), dtype=np.float64, count=len(rows))
    lat = np.fromiter(map(itemgetter(8), rows), dtype=np.float64, count=len(rows))
    bad = np.flatnonzero(~region.contains(lon, lat))
    if not len(bad):
        return 0
    centres = {r[0]: (r[8], r[9]) for r in out.localities}
    for i in bad:
        r = rows[i]
        clat, clon = centres.get(r[1], (None, None))
        if clat is None:  # a city area: its neighbourhood centre is not a row here; use the nearest good point
            good = np.flatnonzero(region.contains(lon, lat))
            j = int(good[np.argmin((lon[good] - lon[i]) ** 2 + (lat[good] - lat[i]) ** 2)]) if len(good) else None
            if j is None:
                continue
            clat, clon = rows[j][8], rows[j][9]
        rows[i] = (*r[:8], clat, clon, *r[10:])
    return len(bad)


def _write(target: RegistryWriter | Shard, res: JobResult) -> None:
    r = res.rows
    target.add("localities", res.localities)
    target.add("thoroughfares", r.thoroughfares)
    target.add("buildings", r.buildings, BUILDING_COLUMNS)
    target.add("units", r.units, UNIT_COLUMNS)


def chunks(jobs: Iterable[AreaJob], total_units: int, workers: int) -> Iterator[list[AreaJob]]:
    """Runs of consecutive jobs of about the same number of units each (taken from ``jobs`` as they come)."""
    target = min(MAX_CHUNK_UNITS, max(MIN_CHUNK_UNITS, total_units // (16 * workers)))
    run: list[AreaJob] = []
    acc = 0
    for job in jobs:
        run.append(job)
        acc += job.units
        if acc >= target:
            yield run
            run, acc = [], 0
    if run:
        yield run


def run_chunk(index: int, jobs: list[AreaJob]) -> ChunkResult:
    """Run a run of jobs; write their rows to shard ``index`` when the writer takes shards."""
    out = ChunkResult(index)
    shard = _SHARDS.open(index) if _SHARDS is not None else None
    for job in jobs:
        res = run_job(job)
        out.count(res)
        if shard is not None:
            _write(shard, res)
        else:
            out.results.append(res)
    if shard is not None:
        shard.close()
    return out


def _parallel(runs: Iterator[list[AreaJob]], workers: int) -> Iterator[ChunkResult]:
    """Chunk results in plan order, from a pool of forked workers (forked before ``runs`` is first read)."""
    ctx = mp.get_context("fork")
    window = 2 * workers  # tasks in flight: bounded, so a slow writer never lets results (or shards) pile up
    # The loaded reference data out of the collector's reach: the workers' collections never walk it,
    # nor copy its pages by touching it.
    gc.freeze()
    try:
        with ctx.Pool(workers) as pool:
            pending: deque[AsyncResult[ChunkResult]] = deque()
            tasks = enumerate(runs)
            for index, jobs in tasks:
                pending.append(pool.apply_async(run_chunk, (index, jobs)))
                if len(pending) >= window:
                    break
            while pending:
                yield pending.popleft().get()
                nxt = next(tasks, None)
                if nxt is not None:
                    pending.append(pool.apply_async(run_chunk, nxt))
    finally:
        gc.unfreeze()


def generate(
    writer: RegistryWriter,
    n_units: int = DEFAULT_UNITS,
    seed: int = DEFAULT_SEED,
    divisions: Divisions | None = None,
    boundaries: Boundaries | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> BuildSummary:
    """Generate a registry of ``n_units`` units into ``writer`` (the caller commits)."""
    global _REGIONS, _DIVISIONS, _SHARDS
    if n_units < 0:
        raise ValueError("the number of units must not be negative")
    t0 = time.perf_counter()
    div = divisions or load_divisions()
    # Polygons from the on-disk cache only when the divisions are the data folder's own.
    bnd = boundaries or (load_boundaries_cached(div) if divisions is None else load_boundaries(div))
    regions = _regions(div, bnd)
    plan = Planner(n_units, seed, div, regions, load_tehran_neighbourhoods())
    writer.add("provinces", [(p.code, p.name) for p in div.provinces.values()])
    writer.add("counties", [(c.code, c.name, c.province_code) for c in div.counties.values()])
    writer.add("districts", [(d.code, d.name, d.county_code) for d in div.districts.values()])
    writer.add("rural_districts", [(r.code, r.name, r.county_code, r.district_code)
                                   for r in div.rural_districts.values()])
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if n_units >= 50_000 else 1
    sharded = writer if workers > 1 and isinstance(writer, ShardedWriter) else None
    shards = sharded.shards() if sharded is not None else None
    _REGIONS, _DIVISIONS, _SHARDS = regions, div, shards
    total = ChunkResult(-1)
    try:
        if workers <= 1:
            for job in plan.run():
                res = run_job(job)
                _write(writer, res)
                total.count(res)
                if progress:
                    progress(len(res.rows.units))
        else:
            # The workers fork before the plan is made, and start on its first counties while it goes on.
            for chunk in _parallel(chunks(plan.run(), n_units, workers), workers):
                if sharded is not None and shards is not None:
                    sharded.merge_shard(chunk.index)
                for res in chunk.results:
                    _write(writer, res)
                total.add(chunk)
                if progress:
                    progress(chunk.units)
    finally:
        _REGIONS, _DIVISIONS, _SHARDS = {}, None, None
    # Rows are stored by id, so the plan's own rows may come after the jobs'.
    writer.add("localities", plan.localities)
    writer.add("neighbourhoods", plan.neighbourhoods)
    writer.add("meta", [("seed", str(seed)), ("units_requested", str(n_units)), ("source", "generated"),
                        ("points_moved_inside", str(total.moved)),
                        ("areas_by_density", " ".join(map(str, total.densities)))])
    return BuildSummary(total.units, total.buildings, total.thoroughfares, len(plan.localities) + total.localities,
                        time.perf_counter() - t0)
