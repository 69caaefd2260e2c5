"""Import/export benchmark: export a registry of N units, import the export into a new registry.

Run: ``.venv/bin/python bench/import_export_bench.py [--units 200000] [--db REGISTRY] [--format csv]
[--check] [--keep]``. Without ``--db`` the registry of ``--units`` is built once in ``var/bench/``
(and reused). Each step runs as its own ``jinef`` process; its peak memory is that process's
``ru_maxrss`` (from ``os.wait4``, so one step's figure never includes another's), and its CPU seconds
include its workers' (the fairer figure on a machine shared with other work). ``--check`` exports the
imported registry again and compares the two files byte for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import BENCH_DIR, JINEF, python_speed, registry_path  # noqa: E402


def run_step(args: list[str]) -> tuple[float, float, float]:
    """Run one ``jinef`` command; return its wall seconds, peak RSS in MB and CPU seconds (with its workers)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*JINEF, *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"jinef {' '.join(args)} failed with exit code {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def line(step: str, rows: int, seconds: float, peak_mb: float, cpu: float) -> str:
    """One printed line of figures (CPU seconds say more than wall seconds on a machine others share)."""
    return (f"{step:<8} {rows:>12,} rows in {seconds:7.1f} s  {rows / seconds:>10,.0f} rows/s  peak {peak_mb:7,.0f} MB"
            f"  cpu {cpu:7.1f} s")


def main() -> None:
    """Parse arguments, run export then import, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=200_000, help="registry size when --db is not given")
    ap.add_argument("--db", type=Path, help="an existing registry to export (not modified)")
    ap.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ap.add_argument("--check", action="store_true", help="export the imported registry and compare the bytes")
    ap.add_argument("--keep", action="store_true", help="keep the export file and the imported registry")
    a = ap.parse_args()
    db = a.db or registry_path(a.units)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    tag = f"{db.stem}-{os.getpid()}"
    export_file = BENCH_DIR / f"export-{tag}.{a.format}"
    imported = BENCH_DIR / f"imported-{tag}.sqlite"
    again = BENCH_DIR / f"again-{tag}.{a.format}"
    print(python_speed(), flush=True)
    try:
        seconds, peak, cpu = run_step(["export", "--db", str(db), "--format", a.format, "-o", str(export_file)])
        with export_file.open("rb") as fh:
            rows = sum(1 for _ in fh) - (a.format == "csv")
        size_mb = export_file.stat().st_size / 2**20
        print(line("export", rows, seconds, peak, cpu) + f"  ({size_mb:,.0f} MB of {a.format})", flush=True)
        seconds, peak, cpu = run_step(["import", str(export_file), "--format", a.format, "--db", str(imported)])
        print(line("import", rows, seconds, peak, cpu), flush=True)
        if a.check:
            run_step(["export", "--db", str(imported), "--format", a.format, "-o", str(again)])
            same = filecmp.cmp(export_file, again, shallow=False)
            print(f"round trip: the imported registry's export is {'byte-identical' if same else 'DIFFERENT'}")
            if not same:
                raise SystemExit(1)
    finally:
        if not a.keep:
            for p in (export_file, imported, again):
                p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
