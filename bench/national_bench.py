"""The national benchmark: a 30M-unit registry built, exported, imported, compiled, served and asked.

Run: ``.venv/bin/python bench/national_bench.py`` (30,000,000 units under ``var/bench/national``; about half an
hour on 2 cores) or ``--units N --dir PATH``; ``--reuse`` keeps a registry already built there. Every figure is
printed as measured: wall seconds, peak memory of the step's process tree (GNU time's maximum resident set of
the largest process, and the service's total PSS from ``/proc/PID/smaps_rollup``), and rates.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import JINEF, free_port, wait_healthy  # noqa: E402
from crowding import crowding  # noqa: E402
from geocode_eval import CONFLICT_KIND, LEVEL_KINDS, UNIT_KINDS, draw, expected_level, is_right, twins, write  # noqa: E402

from jinef.read.registry.registry import Registry  # noqa: E402


def python_speed() -> str:
    """Seconds a fixed 10M-step Python loop takes now (this VM's speed moves with its neighbours)."""
    t = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return f"python loop {time.perf_counter() - t:.2f} s"


def timed(cmd: list[str], label: str, ok: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """Run ``cmd`` under GNU time: (wall seconds, peak RSS in MB, its stdout); an exit code not in ``ok`` stops."""
    t0 = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if out.returncode not in ok:
        raise SystemExit(f"{label} failed: {out.stderr[-2000:]}")
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024, out.stdout


def pss_mb(root_pid: int) -> float:
    """Total PSS of a process and all its descendants, in MB."""
    pids, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), for a cold start."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def serve(db: Path, workers: int, cold: bool, key: str) -> dict[str, float]:
    """Start `jinef serve --workers N --warm`; seconds until every worker has every structure, lookups over HTTP,
    and the service's total PSS before and after load."""
    import httpx

    if cold and not drop_page_cache():
        cold = False
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen([*JINEF, "serve", "--db", str(db), "--port", str(port), "--workers", str(workers),
                             "--warm", "--service-db", str(db.with_name("bench.service.sqlite"))],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if not wait_healthy(url, proc, 600):
            raise SystemExit("jinef serve did not start")
        ready = None
        while time.perf_counter() - t0 < 600:
            answers = [httpx.get(f"{url}/healthz", timeout=5).json() for _ in range(4 * workers)]
            if all(all(a["indexes"].values()) for a in answers):
                ready = time.perf_counter() - t0
                break
            time.sleep(0.2)
        pss_ready = pss_mb(proc.pid)
        reg = Registry.open(db)
        rng = np.random.default_rng(3)
        codes = [f"{int(c):010d}" for c in reg.table.postcodes[rng.integers(0, len(reg.table), 20_000)]]
        headers = {"X-API-Key": key}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            t = time.perf_counter()
            for c in codes[:5_000]:
                client.get(f"/v1/postcodes/{c}")
            single = 5_000 / (time.perf_counter() - t)
            t = time.perf_counter()
            for i in range(0, 20_000, 1000):
                client.post("/v1/postcodes/lookup", json={"postcodes": codes[i:i + 1000]})
            batch = 20_000 / (time.perf_counter() - t)
        return {"cold_page_cache": cold, "ready_s": ready if ready is not None else float("nan"),
                "pss_ready_mb": pss_ready, "pss_after_load_mb": pss_mb(proc.pid),
                "http_single_lookups_per_s_one_client": single, "http_batch_postcodes_per_s_one_client": batch}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def lookups(db: Path) -> dict[str, float]:
    """In-process postcode lookups per second (single, and batches of 100)."""
    reg = Registry.open(db)
    reg.warm()  # as `jinef serve --warm` does: a long-lived worker's figures, not its first seconds'
    rng = random.Random(1)
    codes = reg.table.postcodes
    sample = [f"{int(codes[rng.randrange(len(codes))]):010d}" for _ in range(50_000)]
    for p in sample[:2000]:
        reg.lookup(p)
    t = time.perf_counter()
    for p in sample:
        reg.lookup(p)
    single = len(sample) / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, len(sample), 100):
        reg.lookup_many(sample[i:i + 100])
    return {"single_per_s": single, "batch100_per_s": len(sample) / (time.perf_counter() - t)}


def geocode(db: Path, n: int) -> dict[str, float]:
    """The geocode evaluation's kinds on addresses drawn from the registry: accuracy, confidence, speed."""
    reg = Registry.open(db)
    reg.warm()
    gc = reg.geocoder
    rng = random.Random(11)
    sample = draw(reg, gc, n, rng)
    kinds = (*UNIT_KINDS, *LEVEL_KINDS, CONFLICT_KIND)
    unit_n = clear = clear_right = right_all = confident = confident_wrong = ambiguous_confident = 0
    times: list[float] = []
    for i, (a, multi) in enumerate(sample):
        kind = kinds[i % len(kinds)]
        text = write(a, kind, rng, sample[rng.randrange(len(sample))][0])
        t = time.process_time()
        res = gc.geocode(text, limit=5)
        times.append(time.process_time() - t)
        if kind == CONFLICT_KIND:
            continue
        level = expected_level(kind, multi)
        right = is_right(res.best, a, level)
        best = res.best
        if best is not None and best.confidence >= 0.9:
            confident += 1
            confident_wrong += not right
        many = twins(gc.index, a, text, level) > 1
        ambiguous_confident += many and best is not None and best.confidence >= 0.9
        if kind in UNIT_KINDS:
            unit_n += 1
            right_all += right
            if not many:
                clear += 1
                clear_right += right
    ms = np.array(times) * 1000
    # The batch case (`jinef geocode FILE`, /v1/geocode/batch): one candidate per address, on other addresses
    # than the ones above (their pages and caches are warm now).
    other = draw(reg, gc, n, random.Random(12))
    texts = [write(a, kinds[i % len(kinds)], rng, other[rng.randrange(len(other))][0])
             for i, (a, _) in enumerate(other)]
    t = time.process_time()
    for text in texts:
        gc.geocode(text, limit=1)
    batch = len(texts) / (time.process_time() - t)
    return {"addresses": len(sample), "per_cpu_second_one_candidate": batch, "unit_top1": right_all / max(unit_n, 1),
            "unit_top1_unambiguous": clear_right / max(clear, 1), "ambiguous_share": 1 - clear / max(unit_n, 1),
            "confident_wrong_share": confident_wrong / max(confident, 1), "confident": confident,
            "ambiguous_answered_confidently": ambiguous_confident, "per_cpu_second": len(times) / sum(times),
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def reverse(db: Path) -> dict[str, float]:
    """Reverse geocoding: batch points/s near buildings, the own building's share within 1 m, single p99."""
    reg = Registry.open(db)
    reg.warm()
    rv = reg.reverse
    b = rv.buildings
    rng = np.random.default_rng(2)
    n = 300_000
    rows = rng.integers(0, len(b), n)
    lat, lon = b.lats[rows], b.lons[rows]
    metres = rng.uniform(0, 1.0, n)
    a = rng.uniform(0, 2 * np.pi, n)
    plat = lat + np.degrees(metres * np.sin(a) / 6_371_008.8)
    plon = lon + np.degrees(metres * np.cos(a) / (6_371_008.8 * np.cos(np.radians(lat))))
    rv.reverse_many(plat[:10_000], plon[:10_000])
    t = time.perf_counter()
    res = rv.reverse_many(plat, plon)
    batch = n / (time.perf_counter() - t)
    own = float((b.building_ids(np.maximum(res.building_row, 0)) == b.building_ids(rows)).mean())
    lat_ms = []
    for i in range(20_000):
        t = time.perf_counter()
        rv.reverse(float(plat[i]), float(plon[i]), limit=1)
        lat_ms.append((time.perf_counter() - t) * 1000)
    return {"batch_points_per_s": batch, "own_building_within_1m": own,
            "single_p50_ms": float(np.percentile(lat_ms, 50)), "single_p99_ms": float(np.percentile(lat_ms, 99))}


def main() -> None:
    """Run every step and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=30_000_000)
    ap.add_argument("--dir", type=Path, default=ROOT / "var" / "bench" / "national")
    ap.add_argument("--reuse", action="store_true", help="keep a registry already built in --dir")
    ap.add_argument("--geocode-n", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-io", action="store_true", help="skip the export and import steps")
    ap.add_argument("--only", default="", help="comma list of: crowding,io,index,serve,lookups,geocode,reverse")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))

    def wanted(phase: str) -> bool:
        return not only or phase in only

    d = args.dir
    d.mkdir(parents=True, exist_ok=True)
    db = d / "registry.sqlite"
    print(f"{python_speed()}; load {os.getloadavg()}", flush=True)
    if not (args.reuse and db.exists()):
        wall, peak, out = timed([*JINEF, "build", "--units", str(args.units), "--db", str(db), "--json"], "build")
        info = json.loads(out)
        print(f"build {args.units:,} units: {wall:.1f} s wall (generate+store {info['seconds']:.1f} s, read image "
              f"{info['image_seconds']:.1f} s), peak {peak:,.0f} MB", flush=True)
    else:  # a registry built earlier: its image may be from older code
        subprocess.run([*JINEF, "index", "--db", str(db), "--if-stale"], cwd=ROOT, check=True, capture_output=True)
    reg = Registry.open(db)
    if wanted("crowding"):
        c = crowding(reg.image.field("buildings", "lat"), reg.image.field("buildings", "lon"))
        print("crowding: " + ", ".join(f"{k} {v:.4g}" for k, v in c.items()), flush=True)
    if not args.skip_io and wanted("io"):
        csv = d / "export.csv"
        wall, peak, _ = timed([*JINEF, "export", "--db", str(db), "-o", str(csv)], "export")
        print(f"export: {args.units / wall:,.0f} rows/s, {wall:.1f} s, peak {peak:,.0f} MB, "
              f"{csv.stat().st_size / 1e6:,.0f} MB of CSV", flush=True)
        imported = d / "imported.sqlite"
        wall, peak, _ = timed([*JINEF, "import", str(csv), "--db", str(imported)], "import")
        print(f"import (read image included): {args.units / wall:,.0f} rows/s, {wall:.1f} s, peak {peak:,.0f} MB",
              flush=True)
        csv.unlink()
        shutil.rmtree(imported.with_name("imported.image"), ignore_errors=True)
        imported.unlink(missing_ok=True)
    if wanted("index"):
        wall, peak, out = timed([*JINEF, "index", "--db", str(db), "--json"], "index")
        info = json.loads(out)
        print(f"image compile: {wall:.1f} s wall, peak {peak:,.0f} MB, {info['megabytes']:,.0f} MB on disk",
              flush=True)
    key_out = subprocess.run([*JINEF, "keys", "create", "--db", str(db), "--service-db",
                              str(db.with_name("bench.service.sqlite")), "--org", "bench", "--scopes", "lookup"],
                             capture_output=True, text=True, cwd=ROOT, check=True)
    key = key_out.stdout.split()[0]
    for cold in (True, False) if wanted("serve") else ():
        s = serve(db, args.workers, cold, key)
        print(f"serve --workers {args.workers} --warm ({'cold' if s['cold_page_cache'] else 'warm'} page cache): "
              f"ready in {s['ready_s']:.1f} s; total PSS {s['pss_ready_mb']:,.0f} MB when ready, "
              f"{s['pss_after_load_mb']:,.0f} MB after lookups; over HTTP (one client): "
              f"{s['http_single_lookups_per_s_one_client']:,.0f} lookups/s, "
              f"{s['http_batch_postcodes_per_s_one_client']:,.0f} postcodes/s in batches of 1000", flush=True)
    if wanted("lookups"):
        lk = lookups(db)
        print(f"lookups in process ({python_speed()}): {lk['single_per_s']:,.0f} single/s, "
              f"{lk['batch100_per_s']:,.0f}/s in batches of 100", flush=True)
    if wanted("geocode"):
        speed = python_speed()
        g = geocode(db, args.geocode_n)
        print(f"geocode ({g['addresses']:,} noisy addresses; {speed}): unit top-1 {g['unit_top1']:.4f}, "
              f"{g['unit_top1_unambiguous']:.4f} where the text fits one unit ({g['ambiguous_share']:.2%} fit "
              f"several); confidently wrong {g['confident_wrong_share']:.4%} of {g['confident']:,} confident "
              f"answers; ambiguous answered confidently {g['ambiguous_answered_confidently']}; "
              f"{g['per_cpu_second']:,.0f} addresses per CPU second with 5 candidates, "
              f"{g['per_cpu_second_one_candidate']:,.0f} with one (the batch default); p50 {g['p50_ms']:.2f} ms, "
              f"p99 {g['p99_ms']:.2f} ms", flush=True)
    if wanted("reverse"):
        speed = python_speed()
        r = reverse(db)
        print(f"reverse ({speed}): {r['batch_points_per_s']:,.0f} points/s in a batch; the point's own building "
              f"for {r['own_building_within_1m']:.4%} of points within 1 m; single p50 {r['single_p50_ms']:.3f} ms, "
              f"p99 {r['single_p99_ms']:.3f} ms", flush=True)

if __name__ == "__main__":
    main()
