"""A realistic national registry on Iran's real divisions, deterministic for a seed, streamed to a store.

The build runs in two phases. The *plan* (:mod:`jinef.write.ingest.planner`, one process, cheap) makes every
decision above the street: units per county and city, neighbourhoods, the blocks of the national lattice
each area may build on, postcode routes. It yields independent *area jobs*, each with its own random
stream, its own routes, its own blocks and its own id range, so jobs can run on all cores in any order
and the output is the same bytes for the same seed whatever the number of workers. A job lays out its
streets, buildings and units inside its own blocks only (:mod:`jinef.write.ingest.streets`), so buildings of
different jobs never meet. A worker task is a run of consecutive jobs; with a writer that takes shards
(SQLite) the worker writes the run's rows into its own shard and the writer appends the shards in plan
order, so rows never pass through the main process one by one. Memory stays bounded at any registry size.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import random
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from operator import itemgetter

import numpy as np

from jinef.model.address import LocalityType
from jinef.write.ingest import lattice
from jinef.write.ingest import vocabulary as vocab
from jinef.write.ingest.comb import DENSITY_BOUNDS
from jinef.write.ingest.placement import Region
from jinef.write.ingest.planner import AreaJob, Planner, _regions
from jinef.write.ingest.postcode_allocator import RuralSequence, UrbanSequence
from jinef.write.ingest.streets import BUILDING_COLUMNS, UNIT_COLUMNS, Area, Ids, NamePicker, Rows, generate_area
from jinef.write.refdata.boundaries import Boundaries, load_boundaries
from jinef.write.refdata.cache import load_boundaries_cached
from jinef.write.refdata.divisions import Divisions, load_divisions
from jinef.write.refdata.tehran import load_tehran_neighbourhoods
from jinef.write.store.base import RegistryWriter, Shard, ShardedWriter, ShardSet

DEFAULT_UNITS = 200_000
DEFAULT_SEED = 1404
ID_STRIDE = 100_000_000  # ids of job k are k * ID_STRIDE + 1, 2, ...: stable, whatever runs first


@dataclass(frozen=True)
class BuildSummary:
    """What a build produced."""

    units: int
    buildings: int
    thoroughfares: int
    localities: int
    seconds: float


@dataclass
class JobResult:
    """Rows made by one job."""

    localities: list[tuple[object, ...]] = field(default_factory=list)
    rows: Rows = field(default_factory=Rows)
    moved: int = 0
    # Areas by how densely their blocks were packed: normal, then up to each of DENSITY_BOUNDS[1:] times, above.
    densities: list[int] = field(default_factory=lambda: [0] * (len(DENSITY_BOUNDS) + 1))



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
