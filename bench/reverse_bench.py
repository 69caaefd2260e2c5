"""Reverse geocoding benchmark: `python bench/reverse_bench.py [--units N]`.

Builds (or reuses) registries under var/bench/, then prints batch points per second, single-query
latency (p50/p99, in process) and the spatial index's memory. Query points are registered buildings
jittered by ~30 m, as real customer locations would be.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np

from jinef.read.geo.reverse import STATUSES, ReverseGeocoder
from jinef.read.registry.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import registry_path


def _single_latencies(geo: ReverseGeocoder, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Microseconds per single reverse() call, one call per point."""
    out = np.empty(len(lats))
    for i in range(len(lats)):
        la, lo = float(lats[i]), float(lons[i])
        t0 = time.perf_counter_ns()
        geo.reverse(la, lo, limit=1)
        out[i] = (time.perf_counter_ns() - t0) / 1000
    return out


def bench(units: int, n_points: int = 1_000_000, n_single: int = 20_000) -> None:
    """Print the figures for one registry size."""
    path = registry_path(units)
    with Registry.open(path) as reg:
        t = time.perf_counter()
        geo = reg.reverse
        load_s = time.perf_counter() - t
    admin = geo.admin
    # As a serving worker does once its indexes are built: long-lived objects leave the collector's scans.
    gc.freeze()
    b = geo.buildings
    rng = np.random.default_rng(1)
    rows = rng.integers(0, len(b), n_points)
    lats = b.lats[rows] + rng.normal(0, 0.0003, n_points)
    lons = b.lons[rows] + rng.normal(0, 0.0003, n_points)
    geo.reverse_many(lats[:10_000], lons[:10_000])  # warm up
    t = time.perf_counter()
    batch = geo.reverse_many(lats, lons)
    batch_s = time.perf_counter() - t
    counts = np.bincount(batch.status, minlength=len(STATUSES))
    near_us = _single_latencies(geo, lats[:n_single], lons[:n_single])
    # Random points inside Iran (anywhere in a province polygon), most of them far from any building.
    ulat, ulon = rng.uniform(25, 40, 4 * n_single), rng.uniform(44, 63.5, 4 * n_single)
    inside = admin.locate_many(ulat, ulon)[0] >= 0
    iran_us = _single_latencies(geo, ulat[inside][:n_single], ulon[inside][:n_single])
    print(f"registry {units:,} units, {len(b):,} geocoded buildings (opened from the read image in {load_s:.2f} s)")
    print(f"  batch reverse: {n_points:,} points in {batch_s:.2f} s = {n_points / batch_s:,.0f} points/s (1 core); "
          + ", ".join(f"{s} {c:,}" for s, c in zip(STATUSES, counts, strict=True)))
    for label, us in (("near buildings", near_us), ("random in Iran", iran_us)):
        print(f"  single reverse (limit=1), {len(us):,} points {label}: p50 {np.percentile(us, 50):.0f} µs, "
              f"p99 {np.percentile(us, 99):.0f} µs")
    print(f"  building grid (memory-mapped, shared): {b.nbytes / 1e6:.1f} MB; admin grid "
          f"{admin.grid.province.nbytes * 2 / 1e6:.1f} MB" if admin.grid is not None else "")


def main() -> None:
    """Run for --units (default: 200k and 2M)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, action="append", help="registry size (repeatable)")
    ap.add_argument("--points", type=int, default=1_000_000)
    args = ap.parse_args()
    print(f"load average: {Path('/proc/loadavg').read_text().strip()} ({os.cpu_count()} cores)")
    for units in args.units or [200_000, 2_000_000]:
        bench(units, args.points)


if __name__ == "__main__":
    main()
