"""Serving replicas against one PostgreSQL registry: lookups/s and matches/s through 1, 2 and 3 `jinef serve`
processes on loopback, the clients spreading their calls over the replicas as a load balancer would.

Run: ``.venv/bin/python bench/replicas_bench.py --dsn postgresql:///jinef?host=/var/run/postgresql`` (or
``JINEF_BENCH_PG_DSN``). The registry is schema ``bench_<units>`` of that database (``--units``, default 200,000;
built with `jinef build` when missing); the service state and the hub are its ``_service`` and ``_verify``
schemas, which every replica shares (the hub's schema is made afresh each run). Every replica has ``--workers``
worker processes and reads the one read image on this host. ``--people`` addresses are verified through the hub
first, so half the matches say yes; the enumeration limits are never reached (two codes per postcode). Each phase
runs ``--seconds`` from ``--clients`` client processes of ``--concurrency`` connections each; every answer is
checked (a wrong one or a status other than 200 is counted and printed). On a machine with fewer cores than
replicas plus clients the rate cannot grow with the replicas: the figures then say what the cores can do.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import JINEF, free_port, python_speed, wait_healthy

Pair = tuple[str, str, bool]  # national code, postcode, whether they match


def _registry(dsn: str, units: int) -> str:
    """The benchmark's registry location, built when its schema holds none."""
    schema = f"bench_{units}"
    location = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    with psycopg.connect(dsn) as conn:
        there = conn.execute("SELECT to_regclass(%s)", (f"{schema}.units",)).fetchone()
    if there is None or there[0] is None:
        print(f"building {units:,} units into schema {schema} ...", flush=True)
        subprocess.run([*JINEF, "build", "--units", str(units), "--db", location], check=True,
                       stdout=subprocess.DEVNULL)
    return location


def _sample(location: str, n: int) -> list[str]:
    """``n`` random active postcodes of the registry."""
    from jinef.common.pg_location import parse_location

    loc = parse_location(location)
    with psycopg.connect(loc.dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT postcode FROM {}.units WHERE status = 'active' ORDER BY random() LIMIT %s")
                            .format(sql.Identifier(loc.schema)), (n,)).fetchall()
    return [f"{r[0]:010d}" for r in rows]


def _fresh_hub(location: str, people: int, postcodes: list[str]) -> list[Pair]:
    """Drop the hub's schema, verify ``people`` addresses through a new hub; pairs that match and pairs that do not."""
    from jinef.common.config import RegistryLocation
    from jinef.common.pg_location import parse_location
    from jinef.model.digits import to_latin_digits
    from jinef.read.verify import VerifyConfig, VerifyHub
    from jinef.read.verify import national_code as ncode

    target = str(RegistryLocation.of(location).verify_target)
    loc = parse_location(target)
    with psycopg.connect(loc.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(loc.schema)))
    pairs: list[Pair] = []
    with VerifyHub.open(target, lambda _postcode: "active", config=VerifyConfig(dev_sms_outbox=True)) as hub:
        for i in range(people):
            nc = ncode.complete(f"{700_000_000 + i * 7:09d}")
            req = hub.workflow.request(nc, f"0912{3_000_000 + i:07d}", postcodes[i], "resident", actor="bench-portal")
            hub.workflow.visit(req.id, agent="bench:postman")
            found = re.search(r"\d{6}", to_latin_digits(hub.outbox(limit=1, ref=req.id)[0].body))
            assert found
            hub.workflow.confirm(req.id, found.group(), agent="bench:postman")
            pairs += [(nc, postcodes[i], True), (nc, postcodes[i + 1], False)]
    return pairs


async def _drive(urls: list[str], key: str, kind: str, seconds: float, concurrency: int, postcodes: list[str],
                 pairs: list[Pair], seed: int) -> tuple[int, list[float], dict[int, int], int]:
    """Calls for ``seconds`` over ``concurrency`` connections per replica, round robin: (calls, latencies,
    statuses, wrong answers)."""
    import httpx

    rng = random.Random(seed)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    wrong = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=u, headers={"X-API-Key": key}, limits=limits, timeout=60) for u in urls]

    async def worker(i: int) -> None:
        nonlocal wrong
        n = i
        while time.perf_counter() < deadline:
            client = clients[n % len(clients)]  # the next replica, as a round-robin balancer sends it
            n += 1
            t = time.perf_counter()
            if kind == "lookup":
                postcode = rng.choice(postcodes)
                r = await client.get(f"/v1/postcodes/{postcode}")
                ok = r.status_code == 200 and r.json()["postcode"] == postcode
            else:
                nc, pc, expected = rng.choice(pairs)
                r = await client.post("/v1/match", json={"national_code": nc, "postcode": pc, "purpose": "banking_kyc"})
                ok = r.status_code == 200 and r.json()["matched"] is expected
            latencies.append(time.perf_counter() - t)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            wrong += not ok

    try:
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        for c in clients:
            await c.aclose()
    return len(latencies), latencies, statuses, wrong


def _client(args: tuple[list[str], str, str, float, int, list[str], list[Pair], int]
            ) -> tuple[int, list[float], dict[int, int], int]:
    """One client process (a Python client costs about as much CPU as the server: one process is not enough)."""
    return asyncio.run(_drive(*args))


def _phase(urls: list[str], key: str, kind: str, args: argparse.Namespace, postcodes: list[str],
           pairs: list[Pair], seconds: float) -> tuple[float, float, float, dict[int, int], int]:
    """Rate, p50 and p99 (ms), statuses and wrong answers of one kind of call."""
    with mp.get_context("spawn").Pool(args.clients) as pool:
        results = pool.map(_client, [(urls, key, kind, seconds, args.concurrency, postcodes, pairs, p)
                                     for p in range(args.clients)])
    lat = sorted(x for r in results for x in r[1])
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r[2].items():
            statuses[k] = statuses.get(k, 0) + v
    n = sum(r[0] for r in results)
    # Each client calls for ``seconds`` from its own start (the pool's start-up is not serving time).
    return (n / seconds, lat[len(lat) // 2] * 1000 if lat else 0.0, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
            if lat else 0.0, statuses, sum(r[3] for r in results))


def _start(location: str, count: int, workers: int, ring: str) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """``count`` replicas (`jinef serve`, each its own port), started one after the other, answering."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    for _ in range(count):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([*JINEF, "serve", "--db", location, "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)], env={**os.environ, "JINEF_VERIFY_KEY": ring})
        procs.append(proc)
        urls.append(url)
        if not wait_healthy(url, proc, 300):
            _stop(procs)
            raise SystemExit(f"replica {len(procs)} did not start")
    return procs, urls


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[2]
    except OSError:
        return "n/a"


def main() -> int:
    """Run the benchmark and print the table; exit 1 when an answer was wrong or not 200."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("JINEF_BENCH_PG_DSN"), help="PostgreSQL database (libpq URL)")
    ap.add_argument("--units", type=int, default=200_000, help="registry size (schema bench_UNITS)")
    ap.add_argument("--replicas", default="1,2,3", help="replica counts to measure, comma-separated")
    ap.add_argument("--workers", type=int, default=1, help="worker processes per replica")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of load per phase")
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--concurrency", type=int, default=16, help="connections per client process")
    ap.add_argument("--people", type=int, default=200, help="addresses verified through the hub before matching")
    args = ap.parse_args()
    if not args.dsn:
        ap.error("give --dsn postgresql://… (or set JINEF_BENCH_PG_DSN)")

    from jinef.api.servicedb import open_store
    from jinef.common.config import RegistryLocation

    location = _registry(args.dsn, args.units)
    postcodes = _sample(location, max(2_000, args.people + 1))
    # The hub's key ring, what every host would get from a secret store: the seeding here and every replica.
    os.environ["JINEF_VERIFY_KEY"] = ring = "1:" + base64.b64encode(os.urandom(32)).decode()
    t = time.perf_counter()
    pairs = _fresh_hub(location, args.people, postcodes)
    print(f"verified {args.people} addresses through the hub in {time.perf_counter() - t:.1f} s", flush=True)
    store = open_store(RegistryLocation.of(location).service_target)
    key = store.create_key("bench", ["lookup", "match"], None)[1]
    store.close()
    print(python_speed(), flush=True)
    print(f"{os.cpu_count()} CPUs shared by the replicas, PostgreSQL and {args.clients} client processes x "
          f"{args.concurrency} connections; {args.workers} worker(s) per replica; {args.seconds:g} s per phase",
          flush=True)
    rows = []
    failed = False
    for count in [int(c) for c in args.replicas.split(",")]:
        procs, urls = _start(location, count, args.workers, ring)
        try:
            _phase(urls, key, "lookup", args, postcodes, pairs, 2.0)  # warm every replica's connections and caches
            look = _phase(urls, key, "lookup", args, postcodes, pairs, args.seconds)
            match = _phase(urls, key, "match", args, postcodes, pairs, args.seconds)
        finally:
            _stop(procs)
        for name, (_, _, _, statuses, wrong) in (("lookups", look), ("matches", match)):
            if wrong or set(statuses) != {200}:
                failed = True
                print(f"{count} replica(s), {name}: statuses {statuses}, wrong answers {wrong}", flush=True)
        rows.append((count, look, match, _loadavg()))
        print(f"{count} replica(s): {look[0]:,.0f} lookups/s, {match[0]:,.0f} matches/s", flush=True)
    print()
    print(f"{'replicas':>8}  {'lookups/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}  {'matches/s':>10}  {'p50 ms':>7}  "
          f"{'p99 ms':>7}  load")
    for count, look, match, load in rows:
        print(f"{count:>8}  {look[0]:>10,.0f}  {look[1]:>7.1f}  {look[2]:>7.1f}  {match[0]:>10,.0f}  {match[1]:>7.1f}  "
              f"{match[2]:>7.1f}  {load}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
