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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from operator import itemgetter

import numpy as np

from jinef.ingest import vocabulary as vocab
from jinef.ingest.apportion import apportion
from jinef.ingest.placement import KM_PER_DEG, Region
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
    # city areas
    locality_id: int = 0
    neighbourhood_id: int | None = None
    lon: float = 0.0
    lat: float = 0.0
    radius_km: float = 0.0
    # rural districts
    rural_district: str = ""
    district: str = ""


@dataclass
class JobResult:
    """Rows made by one job."""

    localities: list[tuple[object, ...]] = field(default_factory=list)
    rows: Rows = field(default_factory=Rows)
    moved: int = 0


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
        for city, cu, cp in zip(city_list, city_units, city_people, strict=True):
            self._city(city.code, code, county.province_code, cu, cp, rng)
        rw = [rng.lognormvariate(0, 0.5) for _ in rurals]
        for rd, ru in zip(rurals, apportion(units - urban, rw), strict=True):
            if ru:
                routes = tuple(self.allocator.take_many(code, rural_routes_needed(village_count(ru))))
                self._job(county=code, province=county.province_code, units=ru, routes=routes, size="village",
                          rural_district=rd.code, district=rd.district_code)

    def _city(self, city_code: str, county: str, prov: str, units: int, people: float, rng: random.Random) -> None:
        c = self.div.cities[city_code]
        region = self.regions[county]
        if c.lat is not None and c.lon is not None:
            lon, lat = region.inside_point(c.lon, c.lat, rng)
        else:
            lon, lat = region.random_point(rng)
        share = people / NATIONAL_POPULATION
        # Every point of the city lies within this radius, which stays clear of both borders.
        wanted = 0.6 + 12 * math.sqrt(share * 10)
        radius = min(wanted, 0.8 * region.clearance_km(lon, lat, enough_km=wanted / 0.8))
        loc = len(self.localities) + 1
        self.localities.append((loc, LocalityType.CITY.value, c.name, city_code, prov, county, c.district_code,
                                None, round(lat, 7), round(lon, 7)))
        if units <= 0:
            return
        size = _size_class(people)
        is_tehran = c.name == "تهران" and self.div.counties[county].name == "تهران"
        hoods = self._tehran_hoods(rng) if is_tehran else self._hoods(rng, people)
        industrial = people >= 50_000 and units >= 40
        ind_units = round(units * 0.03) if industrial else 0
        hood_units = apportion(units - ind_units, [h[1] for h in hoods])
        cos_lat = math.cos(math.radians(lat))
        hr = radius / math.sqrt(len(hoods)) * 0.9
        for (hname, _w, hx, hy), hu in zip(hoods, hood_units, strict=True):
            hid = len(self.neighbourhoods) + 1
            self.neighbourhoods.append((hid, loc, hname))
            # The neighbourhood's disc must stay inside the city's disc.
            reach = math.hypot(hx, hy) * radius
            scale = min(1.0, (radius - hr) / reach) if reach > 0 else 0.0
            cx, cy = hx * radius * scale, hy * radius * scale
            if hu:
                self._job(county=county, province=prov, units=hu, size=size, locality_id=loc, neighbourhood_id=hid,
                          routes=tuple(self.allocator.take_many(county, urban_routes_needed(hu))),
                          lon=lon + cx / (KM_PER_DEG * cos_lat), lat=lat + cy / KM_PER_DEG, radius_km=hr)
        if ind_units:
            hid = len(self.neighbourhoods) + 1
            self.neighbourhoods.append((hid, loc, f"شهرک صنعتی {c.name}"))
            a = rng.random() * 2 * math.pi
            routes = tuple(self.allocator.take_many(county, urban_routes_needed(ind_units)))
            self._job(county=county, province=prov, units=ind_units, size="industrial", locality_id=loc,
                      neighbourhood_id=hid, routes=routes,
                      lon=lon + 0.8 * radius * math.cos(a) / (KM_PER_DEG * cos_lat),
                      lat=lat + 0.8 * radius * math.sin(a) / KM_PER_DEG, radius_km=radius * 0.15)

    def _hoods(self, rng: random.Random, people: float) -> list[tuple[str, float, float, float]]:
        """Generated neighbourhoods: (name, weight, x, y) with x, y as fractions of the city radius."""
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
            out.append((h.name, rng.lognormvariate(0, 0.4), gx * 0.6 + (rng.random() - 0.5) * 0.25,
                        gy * 0.6 + (rng.random() - 0.5) * 0.25))
        return out


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
    results: list[JobResult] = field(default_factory=list)

    def count(self, res: JobResult) -> None:
        """Add one job's counts."""
        self.units += len(res.rows.units)
        self.buildings += len(res.rows.buildings)
        self.thoroughfares += len(res.rows.thoroughfares)
        self.localities += len(res.localities)
        self.moved += res.moved

    def add(self, other: ChunkResult) -> None:
        """Add another chunk's counts."""
        self.units += other.units
        self.buildings += other.buildings
        self.thoroughfares += other.thoroughfares
        self.localities += other.localities
        self.moved += other.moved


def run_job(job: AreaJob) -> JobResult:
    """Generate one area's rows (pure function of the job and the reference data)."""
    rng = random.Random(job.seed_key)
    base = job.index * ID_STRIDE
    ids = Ids(thoroughfare=base, building=base, unit=base)
    out = JobResult()
    region = _REGIONS[job.county]
    if job.size == "village":
        _villages(job, rng, ids, out, region)
    else:
        seq = UrbanSequence(list(job.routes))
        area = Area(job.locality_id, job.neighbourhood_id, job.lon, job.lat, job.radius_km, job.size,
                    NamePicker(rng, industrial=job.size == "industrial"), seq)
        generate_area(area, job.units, rng, ids, out.rows)
    out.moved = _guard(region, out)
    return out


def _villages(job: AreaJob, rng: random.Random, ids: Ids, out: JobResult, region: Region) -> None:
    n = village_count(job.units)
    sizes = apportion(job.units, [rng.lognormvariate(0, 0.7) for _ in range(n)])
    # Re-balance any village above the cap onto the smallest ones (keeps serials within 3 digits).
    while max(sizes) > MAX_VILLAGE_UNITS:
        i, j = sizes.index(max(sizes)), sizes.index(min(sizes))
        move = min(sizes[i] - MAX_VILLAGE_UNITS, MAX_VILLAGE_UNITS - sizes[j])
        sizes[i] -= move
        sizes[j] += move
    seq = RuralSequence(list(job.routes))
    used: set[str] = set()
    base = job.index * ID_STRIDE
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
        radius = min(0.35, 0.8 * region.clearance_km(lon, lat, enough_km=0.35 / 0.8))
        kind = LocalityType.HAMLET.value if vu <= 5 else LocalityType.VILLAGE.value
        loc = base + i + 1
        out.localities.append((loc, kind, nm, f"{job.rural_district}-{i + 1:03d}", job.province, job.county,
                               job.district, job.rural_district, round(lat, 7), round(lon, 7)))
        seq.next_village()
        area = Area(loc, None, lon, lat, radius, "village", NamePicker(rng), seq)
        generate_area(area, vu, rng, ids, out.rows)


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
                        ("points_moved_inside", str(total.moved))])
    return BuildSummary(total.units, total.buildings, total.thoroughfares, len(plan.localities) + total.localities,
                        time.perf_counter() - t0)
