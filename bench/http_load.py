"""HTTP load benchmark: `jinef serve --workers 2` on loopback, driven by separate client processes.

One command: ``.venv/bin/python bench/http_load.py``. Builds ``var/bench/registry-200000.sqlite`` if missing,
starts the service on 127.0.0.1, waits for its in-memory indexes, then drives a 60-second wrk load
(single lookups, then 100-item batch lookups) and shorter Python-client phases of geocode and
reverse calls; prints requests/s, postcodes/s and p50/p99 latency, stops the service gracefully and
checks that every request has its audit record.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BENCH_DIR,
    JINEF,
    ROOT,
    WrkResult,
    free_port,
    get_lua,
    post_lua,
    python_speed,
    registry_path,
    run_wrk,
    tree_cpu_seconds,
    wait_healthy,
)

TARGET_SINGLE_RPS = 3000
TARGET_BATCH_PPS = 50_000
TARGET_P99_MS = 50.0


def _postcodes(db: Path, n: int) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute("SELECT postcode FROM units ORDER BY random() LIMIT ?", (n,)).fetchall()
    conn.close()
    return [f"{r[0]:010d}" for r in rows]


def _addresses(db: Path, codes: list[str]) -> tuple[list[str], list[str]]:
    """Standard addresses (geocode queries) and building points (reverse queries) of some units."""
    sys.path.insert(0, str(ROOT))
    from jinef.read.registry.registry import Registry

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


def _wrk(name: str, url: str, key: str, lua: str, seconds: int, conns: int, items: int = 1) -> WrkResult | None:
    """One wrk phase driven by the request function in ``lua``, its figures printed; None without wrk."""
    result = run_wrk(url, key, lua, seconds, conns)
    if result is not None:
        print(result.line(name, seconds, conns, items))
    return result


def _batch_bodies(codes: list[str], batch: int, n: int = 500) -> list[str]:
    """``n`` lookup bodies of ``batch`` random postcodes each, made up front."""
    import json

    rnd = random.Random(7)
    return [json.dumps({"postcodes": rnd.sample(codes, batch)}) for _ in range(n)]


def _wait_indexes(url: str, wanted: tuple[str, ...], seconds: float = 600) -> None:
    """Wait until both workers report their in-memory indexes built (/healthz answers for one worker at a time)."""
    import httpx

    deadline = time.monotonic() + seconds
    streak = 0
    while streak < 20 and time.monotonic() < deadline:
        built = httpx.get(f"{url}/healthz", timeout=5).json().get("indexes", {})
        streak = streak + 1 if all(built.get(w) for w in wanted) else 0
        time.sleep(0.05 if streak else 0.5)


def main() -> int:
    """Run the benchmark and print the figures; exit 1 when audit records were lost."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=200_000, help="registry size (var/bench/registry-UNITS.sqlite)")
    ap.add_argument("--single", type=int, default=20_000, help="number of single lookups")
    ap.add_argument("--batches", type=int, default=1_000, help="number of 100-item batch lookups")
    ap.add_argument("--geocode", type=int, default=3_000, help="number of geocode requests")
    ap.add_argument("--reverse", type=int, default=5_000, help="number of reverse requests")
    ap.add_argument("--other-seconds", type=int, default=10, help="seconds of wrk geocode, then of reverse calls")
    ap.add_argument("--seconds", type=int, default=60,
                    help="seconds of wrk load: the first half single lookups, the second 100-item batches")
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--concurrency", type=int, default=32, help="connections per client process")
    args = ap.parse_args()

    reg = registry_path(args.units)
    svc = BENCH_DIR / f"registry-{args.units}.service.sqlite"
    jinef = JINEF
    for p in (svc, svc.with_name(svc.name + "-wal"), svc.with_name(svc.name + "-shm")):
        p.unlink(missing_ok=True)
    key = subprocess.run([*jinef, "keys", "create", "--db", str(reg), "--org", "bench",
                          "--scopes", "lookup,geocode,reverse", "--rate", "1000000/s"],
                         check=True, capture_output=True, text=True).stdout.strip()
    codes = _postcodes(reg, 20_000)
    texts, points = _addresses(reg, codes[:3_000])


    print(python_speed(), flush=True)  # before the service starts: its warm-up would slow the loop
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*jinef, "serve", "--db", str(reg), "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "2", "--warm"])
    try:
        if not wait_healthy(url, server):
            print("the service did not start", file=sys.stderr)
            return 2
        print(f"jinef serve --workers 2 on {url}; {os.cpu_count()} CPUs shared by server and clients")
        _wait_indexes(url, ("addresses", "reverse", "geocoder"))
        half = max(1, args.seconds // 2)
        # Server CPU per request as well as rates: the rate depends on what else runs on the machine, the CPU
        # cost much less so.
        cpu0 = tree_cpu_seconds(server.pid)
        single = _wrk("single lookups (wrk)", url, key, get_lua([f"/v1/postcodes/{c}" for c in codes[:2000]]),
                      half, 16)
        cpu1 = tree_cpu_seconds(server.pid)
        batches = _wrk("100-item batches (wrk)", url, key,
                       post_lua("/v1/postcodes/lookup", _batch_bodies(codes, 100)), args.seconds - half, 8, 100)
        cpu2 = tree_cpu_seconds(server.pid)
        if single is None or batches is None:  # no wrk: the Python client measures (and limits) instead
            _phase("warm-up", url, key, "single", 2_000, args.clients, args.concurrency, codes)
            n1, rps, _, _, p99_1 = _phase("single lookups", url, key, "single", args.single, args.clients,
                                          args.concurrency, codes)
            n2, _, pps, _, p99_2 = _phase("100-item batches", url, key, "batch", args.batches, args.clients,
                                          max(1, args.concurrency // 4), codes, batch=100)
            sent = 2_000 // args.clients * args.clients + n1 + n2
        else:
            print(f"server CPU: {(cpu1 - cpu0) / single.requests * 1e6:,.0f} µs per single lookup, "
                  f"{(cpu2 - cpu1) / batches.requests * 1e3:,.2f} ms per 100-item batch "
                  f"(load average {os.getloadavg()[0]:.2f})")
            rps, p99_1 = single.rate, single.p99_ms
            pps, p99_2 = batches.rate * 100, batches.p99_ms
            sent = single.requests + batches.requests
        from urllib.parse import quote

        geocode = _wrk("geocode (wrk)", url, key, get_lua([f"/v1/geocode?limit=1&q={quote(t)}" for t in texts]),
                       args.other_seconds, 8)
        reverse = _wrk("reverse (wrk)", url, key,
                       get_lua([f"/v1/reverse?limit=1&lat={p.split(',')[0]}&lon={p.split(',')[1]}" for p in points]),
                       args.other_seconds, 8)
        if geocode is None or reverse is None:
            n3, _, _, _, _ = _phase("geocode", url, key, "geocode", args.geocode, args.clients, args.concurrency,
                                    texts)
            n4, _, _, _, _ = _phase("reverse", url, key, "reverse", args.reverse, args.clients, args.concurrency,
                                    points)
            sent += n3 + n4
        else:
            sent += geocode.requests + reverse.requests
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: workers finish the calls under way
        server.wait(timeout=120)

    # wrk stops with up to one request per connection in flight: those are answered and audited but not counted,
    # so the audit may hold a few more records (at most the phases' connections) than the clients counted.
    conn = sqlite3.connect(svc)
    recorded = conn.execute("SELECT COUNT(*) FROM audit WHERE org = 'bench'").fetchone()[0]
    conn.close()
    lost = max(0, sent - recorded)
    print(f"audit: {recorded:,} records for {sent:,} requests counted by the clients -> "
          f"{'none lost' if lost == 0 else f'{lost} LOST'}")
    print(f"targets: single >= {TARGET_SINGLE_RPS:,} req/s: {'met' if rps >= TARGET_SINGLE_RPS else 'NOT met'}; "
          f"batch >= {TARGET_BATCH_PPS:,} postcodes/s: {'met' if pps >= TARGET_BATCH_PPS else 'NOT met'}; "
          f"p99 < {TARGET_P99_MS:.0f} ms: "
          f"{'met' if max(p99_1, p99_2) < TARGET_P99_MS else 'NOT met'}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
