"""Crowding of a registry's building points: how close buildings are, and what reverse geocoding makes of it.

Run: ``.venv/bin/python bench/crowding.py --units 2000000`` (builds ``var/bench/crowding-N.sqlite``, timing the
build), ``--db PATH`` (measures an existing registry) or no option (the shared 200,000-unit bench registry).
The national benchmark calls :func:`crowding`.

Distances are chords between points on a sphere of the Earth's mean radius: at a few metres they equal the
ground distance to well under a millimetre, and one k-d tree serves the whole country.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EARTH_M = 6_371_008.8
REVERSE_SAMPLE = 1_000_000  # points per reverse-geocoding figure: enough for a 0.1% share, cheap at 30M


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a sphere of the Earth's radius, in metres (n x 3)."""
    la, lo = np.radians(lat), np.radians(lon)
    c = np.cos(la)
    return np.column_stack((c * np.cos(lo), c * np.sin(lo), np.sin(la))) * EARTH_M


def _offset(lat: np.ndarray, lon: np.ndarray, metres: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Points ``metres`` away from each (lat, lon) in a random direction."""
    a = rng.uniform(0, 2 * np.pi, len(lat))
    dlat = np.degrees(metres * np.sin(a) / EARTH_M)
    dlon = np.degrees(metres * np.cos(a) / (EARTH_M * np.cos(np.radians(lat))))
    return lat + dlat, lon + dlon


def crowding(lat: np.ndarray, lon: np.ndarray, seed: int = 1) -> dict[str, float]:
    """Share of buildings with another within 1 m and 3 m, median nearest distance, reverse-geocoding hit rates."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    n = len(lat)
    if n < 2:
        return {"buildings": float(n)}
    tree = cKDTree(unit_vectors(lat, lon), balanced_tree=False, compact_nodes=False)
    d, _ = tree.query(tree.data, k=2)
    nearest = d[:, 1]
    out = {"buildings": float(n), "within_1m": float((nearest <= 1.0).mean()),
           "within_3m": float((nearest <= 3.0).mean()), "median_nearest_m": float(np.median(nearest)),
           "p01_nearest_m": float(np.quantile(nearest, 0.01))}
    del d, nearest
    # A point near a building should reverse-geocode to that building: at exactly 0.5 m (the figure)
    # and anywhere within 1 m (the target), from a sample of the buildings.
    rng = np.random.default_rng(seed)
    rows = rng.choice(n, size=min(n, REVERSE_SAMPLE), replace=False)
    for name, metres in (("reverse_0.5m_same", np.full(len(rows), 0.5)),
                         ("reverse_1m_same", np.sqrt(rng.uniform(0, 1, len(rows))))):
        qlat, qlon = _offset(lat[rows], lon[rows], metres, rng)
        _, hit = tree.query(unit_vectors(qlat, qlon), k=1)
        out[name] = float((hit == rows).mean())
    return out


def outside_shares(db: str) -> dict[str, float]:
    """Share of buildings outside their own county polygon (the province's where the county has none) and province."""
    from jinef.read.registry.registry import Registry
    from jinef.write.refdata.cache import load_boundaries_cached
    from jinef.write.refdata.divisions import load_divisions

    div = load_divisions()
    bnd = load_boundaries_cached(div)
    with Registry.open(db) as reg:
        b = reg.reader.columns("buildings", ["locality_id", "lat", "lon"])
        loc = reg.reader.columns("localities", ["id", "county_code", "province_code"])
    order = np.argsort(loc["id"])
    ids = loc["id"][order]
    pos = order[np.searchsorted(ids, b["locality_id"])]
    county, prov = loc["county_code"][pos], loc["province_code"][pos]
    out_county = out_prov = 0
    for code in np.unique(county):
        sel = np.flatnonzero(county == code)
        c = div.counties[str(code)]
        poly = bnd.counties.get(str(code), bnd.provinces[c.province_code])
        out_county += int((~shapely.contains_xy(poly, b["lon"][sel], b["lat"][sel])).sum())
    for code in np.unique(prov):
        sel = np.flatnonzero(prov == code)
        out_prov += int((~shapely.contains_xy(bnd.provinces[str(code)], b["lon"][sel], b["lat"][sel])).sum())
    n = max(len(county), 1)
    return {"outside_county": out_county / n, "outside_province": out_prov / n}


def build(units: int, db: Path, seed: int | None = None) -> dict[str, float]:
    """Build a registry in a child process: wall seconds and peak RSS (the largest of the build's processes)."""
    cmd = [sys.executable, "-m", "jinef.cli.main", "build", "--units", str(units), "--db", str(db)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - t0
    return {"build_s": wall, "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def measure(db: str) -> dict[str, float]:
    """Every figure of one registry."""
    from jinef.read.registry.registry import Registry

    with Registry.open(db) as reg:
        b = reg.reader.columns("buildings", ["lat", "lon"])
    t0 = time.perf_counter()
    out = crowding(b["lat"], b["lon"])
    del b
    out.update(outside_shares(db))
    out["measure_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    """Build (``--units``) or open (``--db``) a registry and print its crowding figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", help="an existing registry (file or postgresql:// URL); built when --units is given")
    ap.add_argument("--units", type=int, help="build a registry of this many units first")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.units is None and args.db is None:
        from bench.common import registry_path

        args.db = str(registry_path(200_000))
    figures: dict[str, float] = {}
    db = args.db or str(ROOT / "var" / "bench" / f"crowding-{args.units}.sqlite")
    if args.units is not None:
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        figures.update(build(args.units, Path(db), args.seed))
    figures.update(measure(db))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"registry {db}: {int(figures['buildings']):,} buildings")
    if "build_s" in figures:
        print(f"  build {args.units:,} units: {figures['build_s']:.1f} s wall, peak RSS "
              f"{figures['build_peak_rss_mb']:,.0f} MB")
    print(f"  another building within 1 m: {figures['within_1m']:.2%}, within 3 m: {figures['within_3m']:.2%}")
    print(f"  distance to the nearest other building: median {figures['median_nearest_m']:.2f} m, "
          f"1st percentile {figures['p01_nearest_m']:.2f} m")
    print(f"  reverse geocoding answers the same building: at 0.5 m {figures['reverse_0.5m_same']:.2%}, "
          f"within 1 m {figures['reverse_1m_same']:.2%}")
    print(f"  outside their own county polygon: {figures['outside_county']:.4%}, province polygon: "
          f"{figures['outside_province']:.4%}")


if __name__ == "__main__":
    main()
