"""The batch benchmark: noisy addresses geocoded by `jinef batch` with 1 and with 2 Dask workers, and the same
file through the single-process `jinef geocode` (one process, and all cores).

Run: ``.venv/bin/python bench/batch_bench.py`` (10,000,000 rows against the 2M registry of the living
benchmark, ``var/bench/living-2000000``) or ``--rows N --db PATH``. Prints rows/s, the scaling from 1 to 2
workers, the peak memory of the largest process (GNU time, so a worker's mapped image counts), and checks the
outputs are the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import JINEF  # noqa: E402
from national_bench import python_speed, timed  # noqa: E402

from jinef.read.registry.registry import Registry  # noqa: E402


def noisy_file(db: Path, path: Path, rows: int, seed: int = 7) -> None:
    """``rows`` addresses as people type them: parts dropped or glued, digits Persian or Latin, repeated."""
    reg = Registry.open(db)
    rng = random.Random(seed)
    size = len(reg.table)
    pool = []
    while len(pool) < 20_000:
        a = reg.table.address(rng.randrange(size))
        if a is not None:
            pool.append(a)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "address"])
        for i in range(rows):
            a = pool[i % len(pool)]
            parts = [a.locality, a.prev_thoroughfare, a.last_thoroughfare, f"پلاک {a.plate}"]
            if a.unit and rng.random() < 0.7:
                parts.append(f"واحد {a.unit}")
            if rng.random() < 0.3:
                parts.insert(0, a.province)
            w.writerow([i, (" " if rng.random() < 0.5 else "، ").join(p for p in parts if p)])


def main() -> None:
    """Make the file, run each engine, print what was measured."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--db", type=Path, default=ROOT / "var" / "bench" / "living-2000000" / "registry.sqlite")
    ap.add_argument("--partition-rows", type=int, default=50_000)
    ap.add_argument("--runs", default="single,cores,dask1,dask2",
                    help="which engines, in this order (a busy machine makes 'cores' meaningless: leave it out)")
    args = ap.parse_args()
    if not args.db.is_file():
        subprocess.run([*JINEF, "build", "--units", "2000000", "--db", str(args.db)], cwd=ROOT, check=True,
                       capture_output=True)
    subprocess.run([*JINEF, "index", "--db", str(args.db), "--if-stale"], cwd=ROOT, check=True, capture_output=True)
    work = args.db.parent / "batch"
    work.mkdir(exist_ok=True)
    src = work / f"noisy-{args.rows}.csv"
    if not src.is_file():
        t = time.perf_counter()
        noisy_file(args.db, src, args.rows)
        print(f"wrote {args.rows:,} noisy addresses in {time.perf_counter() - t:.0f} s", flush=True)
    print(python_speed(), flush=True)
    names = {"single": "jinef geocode, 1 process", "cores": "jinef geocode, all cores",
             "dask1": "jinef batch, 1 Dask worker", "dask2": "jinef batch, 2 Dask workers"}
    every = {
        "jinef geocode, 1 process": [*JINEF, "geocode", str(src), "-o", str(work / "single.csv"), "--db",
                                     str(args.db), "--workers", "1"],
        "jinef geocode, all cores": [*JINEF, "geocode", str(src), "-o", str(work / "cores.csv"), "--db",
                                     str(args.db)],
        "jinef batch, 1 Dask worker": [*JINEF, "batch", "geocode", str(src), "-o", str(work / "dask1.csv"), "--db",
                                       str(args.db), "--workers", "1", "--partition-rows", str(args.partition_rows)],
        "jinef batch, 2 Dask workers": [*JINEF, "batch", "geocode", str(src), "-o", str(work / "dask2.csv"), "--db",
                                        str(args.db), "--workers", "2", "--partition-rows", str(args.partition_rows)],
    }
    runs = {names[r]: every[names[r]] for r in args.runs.split(",")}
    rates = {}
    for label, cmd in runs.items():
        wall, peak, _ = timed(cmd, label, ok=(0, 1))  # 1: every row answered, some matched nothing
        rates[label] = args.rows / wall
        print(f"{label}: {rates[label]:,.0f} rows/s ({wall:.0f} s), largest process peak {peak:,.0f} MB", flush=True)
    outputs = [work / f"{r}.csv" for r in args.runs.split(",")]
    same = all(filecmp.cmp(outputs[0], o, shallow=False) for o in outputs[1:])
    print(f"outputs of {', '.join(o.name for o in outputs)} identical: {same}", flush=True)
    if {names["dask1"], names["dask2"]} <= rates.keys():
        scaling = rates[names["dask2"]] / rates[names["dask1"]]
        print(f"scaling 1 → 2 Dask workers: {scaling:.2f}×", flush=True)


if __name__ == "__main__":
    main()
