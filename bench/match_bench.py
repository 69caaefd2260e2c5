"""Match-service throughput, in process, with every match audited durably.

Run: ``python bench/match_bench.py [--links N] [--seconds S]``. Prints one line per scenario.

What "durable" means per scenario (see jinef/read/verify/sqlite_store.py and audit.py):
- ``full``: SQLite WAL with synchronous=FULL; a match returns only after the transaction
  holding its audit record has been fsynced (survives power loss).
- ``normal``: WAL with synchronous=NORMAL; the record is committed before the answer but
  the WAL is fsynced only at checkpoints (survives a process crash, not a power cut).
Group commit lets concurrent callers share one fsync; a single caller cannot benefit. Threaded callers
are grouped by flat combining (each caller a thread: a GIL hand-over per match); asyncio callers through
``MatchService.amatch`` (one writer thread per event loop: a hand-over per group).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable without installing

from common import python_speed

from jinef.read.verify import AbuseConfig, MatchQuery, VerifyConfig, VerifyHub
from jinef.read.verify import national_code as nc

ORGS = [f"org-{i:02d}" for i in range(50)]
PURPOSES = ["banking_kyc", "telecom_subscription", "insurance", "delivery"]


@dataclass
class Population:
    """Verified (national code, postcode) pairs and postcodes the registry knows."""

    pairs: list[tuple[str, str]]
    postcodes: list[str]


def make_postcodes(n: int) -> list[str]:
    """``n`` distinct valid postcodes (routes use only the digits 1 and 3-9)."""
    out = []
    for i in range(n):
        route = "".join("13456789"[(i // 8**k) % 8] for k in range(5))
        out.append(route + f"{i % 100000:05d}")
    return out


def seed(db: Path, n_links: int) -> Population:
    """Verify ``n_links`` addresses through the real workflow (setup only, not timed)."""
    postcodes = make_postcodes(n_links * 2)
    status = dict.fromkeys(postcodes, "active")
    rng = random.Random(7)
    config = VerifyConfig(durability="off", group_commit=False, dev_sms_outbox=True)  # codes read from the outbox
    pairs: list[tuple[str, str]] = []
    with VerifyHub.open(db, status.get, config=config, environ={}) as hub:
        for i in range(n_links):
            person = nc.complete(f"{rng.randrange(10**9):09d}")
            mobile = f"0912{rng.randrange(10**7):07d}"
            req = hub.workflow.request(person, mobile, postcodes[i], "resident")
            body = hub.outbox(limit=1, ref=req.id)[0].body
            code = re.search(r"\d{6}", body)
            assert code
            hub.workflow.confirm(req.id, code.group(), agent="bench-agent")
            pairs.append((person, postcodes[i]))
    return Population(pairs, postcodes)


def queries(pop: Population, n: int, seed_: int) -> list[tuple[str, str, str, str]]:
    """A realistic mix: 70% pairs that match, 30% a real person at another postcode."""
    rng = random.Random(seed_)
    out = []
    for _ in range(n):
        person, postcode = rng.choice(pop.pairs)
        if rng.random() < 0.3:
            postcode = rng.choice(pop.postcodes)
        out.append((rng.choice(ORGS), person, postcode, rng.choice(PURPOSES)))
    return out


def open_hub(db: Path, pop: Population, durability: str, group: bool) -> VerifyHub:
    """A hub configured for one scenario."""
    status = dict.fromkeys(pop.postcodes, "active")
    # The synthetic mix asks each person at some 18 random postcodes across 50 organisations: over the limit
    # across organisations (10), which the bench is not about; it measures answering, as before that limit.
    abuse = AbuseConfig(max_codes_per_postcode_all_orgs=10**6, max_postcodes_per_code_all_orgs=10**6)
    config = VerifyConfig(durability=durability, group_commit=group, abuse=abuse)  # type: ignore[arg-type]
    return VerifyHub.open(db, status.get, config=config, environ={})


def raw_commit_rate(directory: Path, synchronous: str, seconds: float = 1.0) -> float:
    """Empty-ish SQLite commits per second in WAL mode: what the disk alone allows."""
    path = directory / f"calibrate-{synchronous}.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (v BLOB)")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?)", (os.urandom(32),))
        conn.execute("COMMIT")
        n += 1
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    """Run ``fn`` (which returns how many matches it made): wall seconds and process CPU seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = fn()
    return n, time.perf_counter() - t0, time.process_time() - c0


def sequential(hub: VerifyHub, qs: list[tuple[str, str, str, str]]) -> int:
    """One caller, one match at a time."""
    matched = 0
    for org, person, postcode, purpose in qs:
        matched += hub.matching.match(org, person, postcode, purpose).matched
    return len(qs)


def concurrent(hub: VerifyHub, qs: list[tuple[str, str, str, str]], threads: int) -> int:
    """``threads`` callers (as an HTTP server would have), each doing single matches."""
    chunks = [qs[i::threads] for i in range(threads)]
    errors: list[BaseException] = []

    def worker(chunk: list[tuple[str, str, str, str]]) -> None:
        try:
            for org, person, postcode, purpose in chunk:
                hub.matching.match(org, person, postcode, purpose)
        except BaseException as exc:  # surface failures instead of reporting a rate
            errors.append(exc)

    ts = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return len(qs)


def awaited(hub: VerifyHub, qs: list[tuple[str, str, str, str]], callers: int) -> int:
    """``callers`` asyncio tasks in one event loop (as an async server has), each awaiting single matches."""

    async def run() -> None:
        todo = iter(qs)

        async def caller() -> None:
            for org, person, postcode, purpose in todo:
                await hub.matching.amatch(org, person, postcode, purpose)  # a refusal raises: no rate then

        await asyncio.gather(*(caller() for _ in range(callers)))

    asyncio.run(run())
    return len(qs)


def batched(hub: VerifyHub, qs: list[tuple[str, str, str, str]], size: int) -> int:
    """Batch calls of ``size`` rows (one organisation per batch), each row audited."""
    for i in range(0, len(qs), size):
        chunk = qs[i : i + size]
        org, purpose = chunk[0][0], chunk[0][3]
        hub.matching.match_batch(org, [MatchQuery(p, c) for _, p, c, _ in chunk], purpose)
    return len(qs)


def detector_memory(pairs: int = 200_000) -> tuple[float, float, float]:
    """Bytes the enumeration detector holds per distinct (organisation, national code, postcode) counted,
    microseconds of CPU per counted query, and the longest single query in milliseconds (a fold of the
    window happens inside one): the pairs arrive spread over one window, as in service."""
    from datetime import UTC, datetime, timedelta

    from jinef.read.verify.abuse import SlidingWindowDetector

    rng = random.Random(5)
    asked = [(rng.choice(ORGS), os.urandom(32), f"{rng.randrange(10**10):010d}") for _ in range(pairs)]
    start = datetime.now(UTC)
    step = timedelta(seconds=SlidingWindowDetector().config.window_seconds / pairs)

    times = [start + n * step for n in range(pairs)]

    def feed(detector: SlidingWindowDetector) -> float:
        longest = 0.0
        for n, (org, nc_hash, postcode) in enumerate(asked):
            t0 = time.perf_counter()
            detector.check(org, nc_hash, postcode, times[n])
            longest = max(longest, time.perf_counter() - t0)
            if n % 1000 == 999:
                detector.take_recorded()  # what each group hands to the database, not kept
        return longest

    cpu = time.process_time()
    longest = feed(SlidingWindowDetector())
    cpu = time.process_time() - cpu
    tracemalloc.start()  # a second detector, traced: tracing slows every allocation
    kept = SlidingWindowDetector()
    feed(kept)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held / pairs, cpu / pairs * 1e6, longest * 1e3


def main() -> None:
    """Seed a database, run each scenario, print the rates, and check the audit chain."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--links", type=int, default=2000, help="verified addresses to seed")
    ap.add_argument("--matches", type=int, default=20000, help="matches per scenario")
    ap.add_argument("--threads", type=int, default=64, help="callers in the concurrent scenarios")
    ap.add_argument("--window-pairs", type=int, default=200_000,
                    help="distinct pairs fed to the enumeration detector over one window")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="jinef-bench-") as tmp:
        db = Path(tmp) / "registry.sqlite"
        t0 = time.perf_counter()
        pop = seed(db, args.links)
        print(f"seeded {args.links} verified addresses in {time.perf_counter() - t0:.1f}s")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} cpus, load average {load} (other work slows every figure below)")
        print(python_speed())
        full, normal = raw_commit_rate(Path(tmp), "FULL"), raw_commit_rate(Path(tmp), "NORMAL")
        print(f"disk: bare SQLite commits/s (one row each): {full:,.0f} sync=FULL, {normal:,.0f} NORMAL")
        n = args.matches
        scenarios: list[
            tuple[str, str, bool, Callable[[VerifyHub, list[tuple[str, str, str, str]]], int]]
        ] = [
            ("single, 1 caller, sync=FULL, commit per match", "full", False, sequential),
            ("single, 1 caller, sync=NORMAL, commit per match", "normal", False, sequential),
            (
                f"single, {args.threads} callers, sync=FULL, group commit",
                "full",
                True,
                lambda h, q: concurrent(h, q, args.threads),
            ),
            (
                f"single, {args.threads} callers, sync=NORMAL, group commit",
                "normal",
                True,
                lambda h, q: concurrent(h, q, args.threads),
            ),
            (
                f"single, {args.threads} asyncio callers, sync=FULL, group commit",
                "full",
                True,
                lambda h, q: awaited(h, q, args.threads),
            ),
            ("batch of 100, 1 caller, sync=FULL", "full", True, lambda h, q: batched(h, q, 100)),
        ]
        checks = []
        for i, (label, durability, group, run) in enumerate(scenarios):
            qs = queries(pop, n, seed_=100 + i)
            # Each scenario on its own copy of the seeded database: the hub takes in the enumeration counts
            # stored by earlier runs, and one scenario's counts must not weigh on the next.
            own = db.with_name(f"scenario-{i}.sqlite")
            shutil.copy(db, own)
            with open_hub(own, pop, durability, group) as hub:
                done, dt, cpu = timed(lambda hub=hub, qs=qs, run=run: run(hub, qs))  # type: ignore[misc]
            rate, cpu_us = done / dt, cpu / done * 1e6
            print(f"{label:<52} {rate:>8,.0f} matches/s  ({done} in {dt:5.2f}s, cpu {cpu_us:4.0f} µs/match)")
            with open_hub(own, pop, "full", False) as hub:
                report = hub.verify_audit()
                matches = sum(1 for r in hub.store.audit_rows() if r.entry.action == "match")
            checks.append((report, matches, done))
        ok = all(r.ok and m == d for r, m, d in checks)
        status = "ok" if ok else "BROKEN: " + "; ".join(f"{r.issue} ({m} of {d} match records)" for r, m, d in checks
                                                     if not (r.ok and m == d))
        print(f"audit chains: {status}, {sum(m for _, m, _ in checks)} match records for "
              f"{sum(d for _, _, d in checks)} matches")
        per_pair, cpu_us, longest_ms = detector_memory(args.window_pairs)
        print(f"enumeration windows: {per_pair:,.0f} bytes per distinct pair counted "
              f"({per_pair * 5e6 / 1e9:.2f} GB per worker for 5 million distinct pairs in a window), "
              f"{cpu_us:.1f} µs CPU per counted query, longest single query {longest_ms:.1f} ms "
              f"({args.window_pairs:,} pairs in the window)")


if __name__ == "__main__":
    main()
