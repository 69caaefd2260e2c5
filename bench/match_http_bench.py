"""Match service over HTTP: `jinef serve --workers 2` on loopback, `/v1/match` driven by separate client processes.

One command: ``.venv/bin/python bench/match_http_bench.py``. Builds ``var/bench/registry-200000.sqlite`` if
missing, starts from a fresh hub database beside it, verifies ``--people`` addresses through the hub,
starts the service, runs a bounded load of single matches (half of them pairs that match) through a
Python client that checks every answer, then a 30-second wrk load (a C client, so the rate is the
server's); prints matches/s, p50/p99 and the server's CPU per match, stops the service gracefully
and checks that every match has its record in the hub's chained audit and in the service's call audit.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
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
    WrkResult,
    free_port,
    post_lua,
    python_speed,
    registry_path,
    run_wrk,
    tree_cpu_seconds,
    wait_healthy,
)

TARGET_MPS = 1500

Pair = tuple[str, str, bool]  # national code, postcode, expected answer


def _seed(reg: Path, hub_db: Path, people: int) -> list[Pair]:
    """Verify ``people`` addresses through the hub's workflow; return matching and non-matching pairs."""
    from jinef.model.digits import to_latin_digits
    from jinef.read.registry.registry import Registry
    from jinef.read.verify import VerifyConfig, VerifyHub
    from jinef.read.verify import national_code as ncode

    conn = sqlite3.connect(f"file:{reg}?mode=ro", uri=True)
    codes = [f"{r[0]:010d}" for r in conn.execute(
        "SELECT postcode FROM units WHERE status = 'active' ORDER BY random() LIMIT ?", (people + 1,))]
    conn.close()
    registry = Registry.open(reg)
    pairs: list[Pair] = []

    def status(postcode: str) -> str | None:
        a = registry.lookup(postcode)
        return None if a is None else a.status

    with VerifyHub.open(hub_db, status, config=VerifyConfig(dev_sms_outbox=True)) as hub:  # codes from the outbox
        for i in range(people):
            nc = ncode.complete(f"{700_000_000 + i * 7:09d}")
            mobile = f"0912{3_000_000 + i:07d}"
            req = hub.workflow.request(nc, mobile, codes[i], "resident", actor="bench-portal")
            hub.workflow.visit(req.id, agent="bench:postman")
            found = re.search(r"\d{6}", to_latin_digits(hub.outbox(limit=1, ref=req.id)[0].body))
            assert found
            hub.workflow.confirm(req.id, found.group(), agent="bench:postman")
            pairs.append((nc, codes[i], True))
            pairs.append((nc, codes[i + 1], False))  # two postcodes per code, two codes per postcode: no alert
    registry.close()
    return pairs


async def _drive(url: str, key: str, n: int, concurrency: int, pairs: list[Pair],
                 offset: int) -> tuple[list[float], dict[int, int], int]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    wrong = 0
    todo = iter(range(offset, offset + n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal wrong
            for i in todo:
                nc, pc, expected = pairs[i % len(pairs)]
                t = time.perf_counter()
                r = await client.post("/v1/match", json={"national_code": nc, "postcode": pc,
                                                         "purpose": "banking_kyc"})
                latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code != 200 or r.json()["matched"] is not expected:
                    wrong += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses, wrong


def _client(args: tuple[str, str, int, int, list[Pair], int]) -> tuple[list[float], dict[int, int], int]:
    """One client process (so the load generator is not limited to one core)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_drive(*args))


def _phase(name: str, url: str, key: str, total: int, procs: int, conc: int, pairs: list[Pair]) -> tuple[int, float]:
    per = total // procs
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(procs) as pool:
        results = pool.map(_client, [(url, key, per, conc, pairs, p * per) for p in range(procs)])
    wall = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r[0])
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r[1].items():
            statuses[k] = statuses.get(k, 0) + v
    wrong = sum(r[2] for r in results)
    n = len(lat)
    p50 = lat[n // 2] * 1000
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000
    print(f"{name:<16} {n:>7,} matches in {wall:5.1f} s  {n / wall:>7,.0f} matches/s  p50 {p50:6.1f} ms  "
          f"p99 {p99:6.1f} ms  statuses {dict(sorted(statuses.items()))}  wrong answers {wrong}", flush=True)
    return n, n / wall


def _wrk(url: str, key: str, pairs: list[Pair], seconds: int, conns: int) -> WrkResult | None:
    """Single matches driven by wrk; None when wrk is not installed."""
    import json

    bodies = [json.dumps({"national_code": nc, "postcode": pc, "purpose": "banking_kyc"}) for nc, pc, _ in pairs]
    return run_wrk(url, key, post_lua("/v1/match", bodies), seconds, conns)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def main() -> int:
    """Run the benchmark and print the figures; exit 1 when an answer was wrong or an audit record missing."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=200_000, help="registry size (var/bench/registry-UNITS.sqlite)")
    ap.add_argument("--people", type=int, default=200, help="verified addresses to seed")
    ap.add_argument("--matches", type=int, default=5_000, help="number of single matches checked one by one")
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--concurrency", type=int, default=32, help="connections per client process")
    ap.add_argument("--seconds", type=int, default=30, help="seconds of wrk load after the checked phase (0: none)")
    ap.add_argument("--wrk-connections", type=int, default=64, help="wrk connections")
    args = ap.parse_args()

    reg = registry_path(args.units)
    svc = BENCH_DIR / f"registry-{args.units}.service.sqlite"
    hub_db = BENCH_DIR / f"registry-{args.units}.verify.sqlite"
    jinef = JINEF
    for base in (svc, hub_db):
        for p in (base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")):
            p.unlink(missing_ok=True)
    (BENCH_DIR / "verify.key").unlink(missing_ok=True)
    t = time.perf_counter()
    pairs = _seed(reg, hub_db, args.people)
    print(f"seeded {args.people} verified addresses in {time.perf_counter() - t:.1f} s", flush=True)
    key = subprocess.run([*jinef, "keys", "create", "--db", str(reg), "--org", "bench-bank", "--scopes", "match",
                          "--rate", "1000000/s"], check=True, capture_output=True, text=True).stdout.strip()


    print(python_speed(), flush=True)  # before the service starts: its warm-up would slow the loop
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*jinef, "serve", "--db", str(reg), "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(args.workers)], env={**os.environ, "JINEF_VERIFY_KEY": ""})
    warm = 1_000
    try:
        if not wait_healthy(url, server):
            print("the service did not start", file=sys.stderr)
            return 2
        print(f"jinef serve --workers 2 on {url}; {os.cpu_count()} CPUs shared by server and clients; "
              f"{args.clients} client processes x {args.concurrency} connections; load {_loadavg()}", flush=True)
        _phase("warm-up", url, key, warm, args.clients, args.concurrency, pairs)
        # Every answer checked (the Python client), then the rate with a client that costs little CPU (wrk).
        n, mps = _phase("checked matches", url, key, args.matches, args.clients, args.concurrency, pairs)
        cpu0 = tree_cpu_seconds(server.pid)
        w = _wrk(url, key, pairs, args.seconds, args.wrk_connections) if args.seconds else None
        if w is not None:
            cpu = (tree_cpu_seconds(server.pid) - cpu0) / max(1, w.requests)
            n, mps = n + w.requests, w.rate
            print(w.line("single matches (wrk)", args.seconds, args.wrk_connections)
                  + f"; server CPU {cpu * 1e6:,.0f} µs per match")
        print(f"load average after the run: {_loadavg()}")
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: workers finish the calls under way
        server.wait(timeout=120)

    sent = warm // args.clients * args.clients + n
    conn = sqlite3.connect(hub_db)
    chained = conn.execute("SELECT COUNT(*) FROM verify_audit WHERE action = 'match' AND org = 'bench-bank'"
                           ).fetchone()[0]
    conn.close()
    conn = sqlite3.connect(svc)
    calls = conn.execute("SELECT COUNT(*) FROM audit WHERE org = 'bench-bank' AND endpoint = '/v1/match'"
                         ).fetchone()[0]
    conn.close()
    check = subprocess.run([*jinef, "audit", "verify", "--db", str(reg)], capture_output=True, text=True)
    # wrk stops with up to one request per connection in flight: those are answered and audited but not counted.
    slack = args.wrk_connections if args.seconds else 0
    ok = sent <= chained <= sent + slack and sent <= calls <= sent + slack and check.returncode == 0
    print(f"audit: {chained:,} chained match records and {calls:,} call records for {sent:,} matches counted by "
          f"the clients (+ up to {slack} in flight); "
          f"chain {check.stdout.strip()[:60]} -> {'every match audited' if ok else 'MISSING RECORDS'}")
    print(f"target >= {TARGET_MPS:,} matches/s over HTTP on 2 workers: {'met' if mps >= TARGET_MPS else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
