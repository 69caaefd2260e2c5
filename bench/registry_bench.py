"""Registry benchmark: build rate and peak memory at 200k and 2M units, postcode lookups per second.

Run: ``.venv/bin/python bench/registry_bench.py [--units 200000 2000000] [--keep]``.
Each build runs as its own ``jinef build`` process; its peak RSS is the largest of that process and
its worker processes (``ru_maxrss`` of waited-for children). Registries are written to ``var/bench/``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jinef.read.registry.registry import Registry  # noqa: E402
from jinef.write.store.open import open_reader  # noqa: E402


def build(units: int, db: Path) -> dict[str, float]:
    """Build a registry in a child process; return its figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "jinef.cli.main", "build", "--units", str(units), "--db", str(db),
                          "--json"], check=True, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    info = json.loads(out.stdout)
    return {"units": info["units"], "wall_s": wall, "generate_s": info["seconds"],
            "peak_rss_mb": max(peak_kb, before) / 1024}


def lookups(db: Path, n: int = 20_000) -> dict[str, float]:
    """Single and batched lookups per second in process, on random existing postcodes."""
    with Registry.open(db) as reg:
        codes = reg.table.postcodes
        rng = random.Random(1)
        sample = [f"{int(codes[rng.randrange(len(codes))]):010d}" for _ in range(n)]
        t0 = time.perf_counter()
        for p in sample:
            reg.lookup(p)
        single = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(0, n, 100):
            reg.lookup_many(sample[i : i + 100])
        batched = n / (time.perf_counter() - t0)
    return {"single_per_s": single, "batch100_per_s": batched}


def check(db: Path) -> str:
    """The issue's rules on the whole registry: valid, unique postcodes; every point inside its province."""
    import numpy as np
    import shapely

    from jinef.model.postcode import is_valid
    from jinef.write.refdata.boundaries import load_boundaries
    from jinef.write.refdata.divisions import load_divisions

    with open_reader(db) as reader:
        codes = reader.columns("units", ["postcode"])["postcode"]
        rows = reader.conn.execute(  # type: ignore[attr-defined]
            "SELECT l.province_code, b.lon, b.lat FROM buildings b JOIN localities l ON l.id = b.locality_id"
        ).fetchall()
    unique = len(np.unique(codes)) == len(codes)
    valid = all(is_valid(f"{int(c):010d}") for c in codes)
    bnd = load_boundaries(load_divisions())
    outside = 0
    by_prov: dict[str, list[tuple[float, float]]] = {}
    for prov, lon, lat in rows:
        by_prov.setdefault(prov, []).append((lon, lat))
    for prov, pts in by_prov.items():
        arr = np.array(pts)
        outside += int((~shapely.contains_xy(bnd.provinces[prov], arr[:, 0], arr[:, 1])).sum())
    return (f"{len(codes):,} postcodes: all valid {valid}, all unique {unique}; "
            f"{len(rows):,} building points, {outside} outside their province polygon")


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, nargs="+", default=[200_000, 2_000_000])
    ap.add_argument("--keep", action="store_true", help="reuse registries already built under var/bench/")
    args = ap.parse_args()
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    for units in sorted(args.units):
        db = out_dir / f"registry-{units}.sqlite"
        if not (args.keep and db.exists()):
            b = build(units, db)
            print(f"build {units:>10,} units: {b['wall_s']:7.1f} s wall ({b['generate_s']:.1f} s in generate), "
                  f"{b['units'] / b['wall_s']:>9,.0f} units/s wall, {b['units'] / b['generate_s']:>9,.0f} units/s "
                  f"generate+store, peak RSS {b['peak_rss_mb']:,.0f} MB", flush=True)
        print(f"check {units:>10,} units: {check(db)}", flush=True)
        lk = lookups(db)
        print(f"lookup on {units:>10,} units: {lk['single_per_s']:>9,.0f} single lookups/s, "
              f"{lk['batch100_per_s']:>9,.0f} postcodes/s in batches of 100 (one core, in process)", flush=True)


if __name__ == "__main__":
    main()
