"""HTTP load benchmark: `jinef serve --workers 2` on loopback, driven by separate client processes.

One command: ``.venv/bin/python bench/http_load.py``. Builds ``var/bench/registry-200000.sqlite`` if missing,
starts the service on 127.0.0.1, runs a bounded load (a fixed number of requests) of single lookups
and of 100-item batch lookups, prints requests/s, postcodes/s and p50/p99 latency, then stops the
service gracefully and checks that every request has its audit record.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import wait_healthy

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
TARGET_SINGLE_RPS = 3000
TARGET_BATCH_PPS = 50_000
TARGET_P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postcodes(db: Path, n: int) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute("SELECT postcode FROM units ORDER BY random() LIMIT ?", (n,)).fetchall()
    conn.close()
    return [f"{r[0]:010d}" for r in rows]


def _addresses(db: Path, codes: list[str]) -> tuple[list[str], list[str]]:
    """Standard addresses (geocode queries) and building points (reverse queries) of some units."""
    sys.path.insert(0, str(ROOT))
    from jinef.registry.registry import Registry

    with Registry.open(db) as reg:
        found = [a for a in reg.lookup_many(codes) if a is not None and a.lat is not None]
    return [a.standard_address for a in found], [f"{a.lat},{a.lon}" for a in found]


async def _drive(url: str, key: str, kind: str, n: int, concurrency: int, codes: list[str],
                 batch: int) -> tuple[list[float], dict[int, int]]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    rnd = random.Random(os.getpid())
    todo = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for _ in todo:
                t = time.perf_counter()
                if kind == "single":
                    r = await client.get(f"/v1/postcodes/{rnd.choice(codes)}")
                elif kind == "geocode":  # codes hold standard addresses here
                    r = await client.get("/v1/geocode", params={"q": rnd.choice(codes), "limit": 1})
                elif kind == "reverse":  # codes hold "lat,lon" here
                    lat, lon = rnd.choice(codes).split(",")
                    r = await client.get("/v1/reverse", params={"lat": lat, "lon": lon, "limit": 1})
                else:
                    r = await client.post("/v1/postcodes/lookup", json={"postcodes": rnd.sample(codes, batch)})
                latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses


def _client(args: tuple[str, str, str, int, int, list[str], int]) -> tuple[list[float], dict[int, int]]:
    """One client process (so the load generator is not limited to one core)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_drive(*args))


def _phase(name: str, url: str, key: str, kind: str, total: int, procs: int, conc: int, codes: list[str],
           batch: int = 1) -> tuple[int, float, float, float, float]:
    per = total // procs
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(procs) as pool:
        results = pool.map(_client, [(url, key, kind, per, conc, codes, batch)] * procs)
    wall = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r[0])
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r[1].items():
            statuses[k] = statuses.get(k, 0) + v
    n = len(lat)
    p50 = lat[n // 2] * 1000
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000
    rps = n / wall
    print(f"{name:<22} {n:>7,} requests in {wall:5.1f} s  {rps:>8,.0f} req/s  {rps * batch:>9,.0f} items/s  "
          f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  statuses {dict(sorted(statuses.items()))}")
    return n, rps, rps * batch, p50, p99


def _wrk(url: str, key: str, codes: list[str], seconds: int, conns: int) -> tuple[int, str] | None:
    """Single lookups driven by wrk (a C client: the Python client costs more CPU than the server does)."""
    import re
    import shutil
    import tempfile

    if not shutil.which("wrk"):
        print("wrk not installed (apt-get install wrk): skipping the wrk phase")
        return None
    lua = "local codes = {" + ",".join(f'"{c}"' for c in codes[:2000]) + "}\n"
    lua += ("request = function()\n  return wrk.format('GET', '/v1/postcodes/' .. codes[math.random(#codes)])\n"
            "end\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-H", f"X-API-Key: {key}",
                          "-s", fh.name, url], capture_output=True, text=True, check=True).stdout
    os.unlink(fh.name)
    n = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"{'single lookups (wrk)':<22} {n:>7,} requests in {seconds:5.1f} s  {float(rps):>8,.0f} req/s  "
          f"p50 {p50}  p99 {p99}  non-2xx {errors.group(1) if errors else 0}  ({conns} connections, 1 wrk thread)")
    return n, rps


def main() -> int:
    """Run the benchmark and print the figures; exit 1 when audit records were lost."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=200_000, help="registry size (var/bench/registry-UNITS.sqlite)")
    ap.add_argument("--single", type=int, default=20_000, help="number of single lookups")
    ap.add_argument("--batches", type=int, default=1_000, help="number of 100-item batch lookups")
    ap.add_argument("--geocode", type=int, default=3_000, help="number of geocode requests")
    ap.add_argument("--reverse", type=int, default=5_000, help="number of reverse requests")
    ap.add_argument("--wrk-seconds", type=int, default=60, help="seconds of wrk single lookups (0: none)")
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--concurrency", type=int, default=32, help="connections per client process")
    args = ap.parse_args()

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    reg = BENCH_DIR / f"registry-{args.units}.sqlite"
    svc = BENCH_DIR / f"registry-{args.units}.service.sqlite"
    jinef = [sys.executable, "-m", "jinef.cli.main"]
    if not reg.exists():
        print(f"building {reg} ({args.units:,} units) ...", flush=True)
        subprocess.run([*jinef, "build", "--units", str(args.units), "--db", str(reg)], check=True,
                       stdout=subprocess.DEVNULL)
    for p in (svc, svc.with_name(svc.name + "-wal"), svc.with_name(svc.name + "-shm")):
        p.unlink(missing_ok=True)
    key = subprocess.run([*jinef, "keys", "create", "--db", str(reg), "--org", "bench",
                          "--scopes", "lookup,geocode,reverse", "--rate", "1000000/s"],
                         check=True, capture_output=True, text=True).stdout.strip()
    codes = _postcodes(reg, 20_000)
    texts, points = _addresses(reg, codes[:3_000])


    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*jinef, "serve", "--db", str(reg), "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "2", "--warm"])
    try:
        if not wait_healthy(url, server):
            print("the service did not start", file=sys.stderr)
            return 2
        print(f"jinef serve --workers 2 on {url}; {os.cpu_count()} CPUs shared by server and clients; "
              f"{args.clients} client processes x {args.concurrency} connections")
        _phase("warm-up", url, key, "single", 2_000, args.clients, args.concurrency, codes)
        n1, rps, _, _, p99_1 = _phase("single lookups", url, key, "single", args.single, args.clients,
                                      args.concurrency, codes)
        w = _wrk(url, key, codes, args.wrk_seconds, 16) if args.wrk_seconds else None
        n_wrk = w[0] if w else 0
        n2, _, pps, _, p99_2 = _phase("100-item batches", url, key, "batch", args.batches, args.clients,
                                      max(1, args.concurrency // 4), codes, batch=100)
        # The geocoder and reverse indexes are built by --warm in the background; the first calls wait for them.
        _phase("geocode warm-up", url, key, "geocode", 20, 1, 1, texts)
        n3, _, _, _, _ = _phase("geocode", url, key, "geocode", args.geocode, args.clients, args.concurrency, texts)
        _phase("reverse warm-up", url, key, "reverse", 20, 1, 1, points)
        n4, _, _, _, _ = _phase("reverse", url, key, "reverse", args.reverse, args.clients, args.concurrency, points)
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: workers drain their audit queues
        server.wait(timeout=120)

    # wrk may have requests in flight when it stops: those are answered and audited too, so allow its connections.
    sent = 2_000 // args.clients * args.clients + n1 + n2 + n3 + n4 + 40 + n_wrk
    conn = sqlite3.connect(svc)
    recorded = conn.execute("SELECT COUNT(*) FROM audit WHERE org = 'bench'").fetchone()[0]
    conn.close()
    # wrk stops with up to one request per connection in flight: those are answered and audited but not counted.
    lost = max(0, sent - recorded)
    print(f"audit: {recorded:,} records for {sent:,} requests counted by the clients -> "
          f"{'none lost' if lost == 0 else f'{lost} LOST'}")
    if w:
        rps = float(w[1])
    print(f"targets: single >= {TARGET_SINGLE_RPS:,} req/s: {'met' if rps >= TARGET_SINGLE_RPS else 'NOT met'}; "
          f"batch >= {TARGET_BATCH_PPS:,} postcodes/s: {'met' if pps >= TARGET_BATCH_PPS else 'NOT met'}; "
          f"p99 < {TARGET_P99_MS:.0f} ms: "
          f"{'met' if max(p99_1, p99_2) < TARGET_P99_MS else 'NOT met'}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
