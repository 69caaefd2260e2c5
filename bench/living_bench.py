"""The living registry's benchmark: postcodes allocated and units edited per second, through the library and over
HTTP (2 workers, 16 concurrent clients), and the time from a committed change to its answer on every worker.

Run: ``.venv/bin/python bench/living_bench.py`` (2,000,000 units under ``var/bench/living-2000000``) or
``--units 30000000``; ``--reuse`` keeps a registry built there before (the edits of earlier runs stay in it).
Checks as it goes that no postcode was given twice, every one is valid, and the change feed lists every change
exactly once, in order; prints what it measured.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import JINEF, free_port, wait_healthy  # noqa: E402
from national_bench import python_speed  # noqa: E402

from jinef.model.address import Address  # noqa: E402
from jinef.model.change import Reason  # noqa: E402
from jinef.model.postcode import is_valid  # noqa: E402
from jinef.read.registry.registry import Registry  # noqa: E402
from jinef.write.edit.editor import RegistryEditor  # noqa: E402


def city_units(db: Path, n: int, seed: int) -> list[Address]:
    """``n`` random city units with a point and a street, from the image."""
    reg = Registry.open(db)
    rng = random.Random(seed)
    out: list[Address] = []
    size = len(reg.table)
    while len(out) < n:
        a = reg.table.address(rng.randrange(size))
        if a is not None and a.locality_type == "شهر" and a.lat is not None and a.status == "active":
            out.append(a)
    return out


def parts_beside(a: Address, i: int) -> dict[str, Any]:
    """A new building 10 m north of ``a``, on its street."""
    assert a.lat is not None
    return {"province": a.province, "county": a.county, "locality": a.locality, "locality_type": a.locality_type,
            "neighbourhood": a.neighbourhood, "prev_thoroughfare": a.prev_thoroughfare,
            "last_thoroughfare": a.last_thoroughfare, "plate": f"{900 + i}", "lat": a.lat + 0.0001, "lon": a.lon}


UNITS = [{"floor": 1, "unit": "1", "usage": "residential"}, {"floor": 2, "unit": "2", "usage": "residential"}]


def library(db: Path, n: int) -> dict[str, float]:
    """One editor in this process: buildings (2 units each) created per second, then single-unit edits."""
    near = city_units(db, n, 1)
    with RegistryEditor.open(db) as e:
        e.last_seq()  # the change log and its indexes made before timing
        t = time.perf_counter()
        codes = [p for i, a in enumerate(near) for p in e.create_building(parts_beside(a, i), UNITS).postcodes]
        created = time.perf_counter() - t
        t = time.perf_counter()
        for i, p in enumerate(codes[:n]):
            e.update(p, {"usage": "commercial" if i % 2 else "residential"}, reason=Reason("change_of_use"))
        edited = time.perf_counter() - t
    assert len(set(codes)) == len(codes) and all(map(is_valid, codes))
    return {"buildings_per_s": n / created, "postcodes_per_s": len(codes) / created, "edits_per_s": n / edited}


def http(db: Path, workers: int, clients: int, per_client: int, latency_samples: int) -> dict[str, Any]:
    """`jinef serve --workers N`: creations and edits from ``clients`` threads, then change → answer latency."""
    import httpx

    svc = db.with_name("living.service.sqlite")
    key = subprocess.run([*JINEF, "keys", "create", "--db", str(db), "--service-db", str(svc), "--org", "bench",
                          "--scopes", "registry_write,registry_read,lookup"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([*JINEF, "serve", "--db", str(db), "--port", str(port), "--workers", str(workers),
                             "--warm", "--service-db", str(svc)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    headers = {"X-API-Key": key}
    try:
        if not wait_healthy(url, proc, 900):
            raise SystemExit("jinef serve did not start")
        with RegistryEditor.open(db) as e:
            start = e.last_seq()
        near = city_units(db, clients * per_client, 2)
        codes: list[str] = []
        errors: list[str] = []

        def create(c: int) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for j in range(per_client):
                    i = c * per_client + j
                    r = client.post("/v1/buildings", json={**parts_beside(near[i], i), "units": UNITS})
                    (codes.extend(r.json()["postcodes"]) if r.status_code == 201 else errors.append(r.text))

        t = time.perf_counter()
        _threads(create, clients)
        created = time.perf_counter() - t

        def edit(c: int) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for p in codes[c::clients][:per_client]:
                    r = client.patch(f"/v1/postcodes/{p}", json={"usage": "commercial", "reason": "change_of_use"})
                    if r.status_code != 200:
                        errors.append(r.text)

        t = time.perf_counter()
        _threads(edit, clients)
        edited = time.perf_counter() - t
        n_edits = sum(len(codes[c::clients][:per_client]) for c in range(clients))
        feed = httpx.get(f"{url}/v1/changes", params={"since": start, "limit": 10_000}, headers=headers).json()
        seqs = [c["seq"] for c in feed["changes"]]
        feed_ok = (seqs == list(range(start + 1, start + 1 + len(seqs)))
                   and sorted(c["postcode"] for c in feed["changes"] if c["kind"] == "create") == sorted(codes)
                   and len(seqs) == len(codes) + n_edits)
        delays = [_every_worker(url, headers, workers, near[i % len(near)], i) for i in range(latency_samples)]
        return {"errors": len(errors), "first_error": errors[:1], "duplicates": len(codes) - len(set(codes)),
                "invalid": sum(not is_valid(p) for p in codes), "feed_exactly_once_in_order": feed_ok,
                "buildings_per_s": clients * per_client / created, "postcodes_per_s": len(codes) / created,
                "edits_per_s": n_edits / edited, "p50_s": statistics.median(delays),
                "p99_s": sorted(delays)[max(0, int(len(delays) * 0.99) - 1)], "max_s": max(delays)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def _threads(fn: Any, n: int) -> None:
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _every_worker(url: str, headers: dict[str, str], workers: int, a: Address, i: int) -> float:
    """Create one building; seconds from its 201 until every worker has answered its postcode."""
    import httpx

    r = httpx.post(f"{url}/v1/buildings", headers=headers, json={**parts_beside(a, 5000 + i), "units": UNITS[:1]})
    done = time.perf_counter()
    postcode = r.json()["postcodes"][0]
    seen: dict[str, float] = {}
    while len(seen) < workers:  # new connections: the kernel hands each to one of the workers
        g = httpx.get(f"{url}/v1/postcodes/{postcode}", headers=headers)
        if g.status_code == 200:
            seen.setdefault(g.headers["x-jinef-worker"], time.perf_counter() - done)
        if time.perf_counter() - done > 30:
            raise SystemExit(f"only {len(seen)} workers answered {postcode} after 30 s")
    return max(seen.values())


def main() -> None:
    """Build or reuse a registry, then measure."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=2_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true", help="keep a registry already built in --dir")
    ap.add_argument("--library-n", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--per-client", type=int, default=40)
    ap.add_argument("--latency-samples", type=int, default=100)
    args = ap.parse_args()
    d = args.dir or ROOT / "var" / "bench" / f"living-{args.units}"
    d.mkdir(parents=True, exist_ok=True)
    db = d / "registry.sqlite"
    print(f"{python_speed()}; load {os.getloadavg()}", flush=True)
    if not (args.reuse and db.exists()):
        t = time.perf_counter()
        subprocess.run([*JINEF, "build", "--units", str(args.units), "--db", str(db)], cwd=ROOT, check=True,
                       capture_output=True)
        print(f"built {args.units:,} units in {time.perf_counter() - t:.0f} s", flush=True)
    else:  # a registry built earlier: its image may be from older code or text rules
        subprocess.run([*JINEF, "index", "--db", str(db), "--if-stale"], cwd=ROOT, check=True, capture_output=True)
    lib = library(db, args.library_n)
    print(f"library ({args.units:,} units, one editor): {lib['buildings_per_s']:,.0f} new buildings/s "
          f"({lib['postcodes_per_s']:,.0f} postcodes/s, 2 units each), {lib['edits_per_s']:,.0f} edits/s", flush=True)
    h = http(db, args.workers, args.clients, args.per_client, args.latency_samples)
    print(f"HTTP ({args.workers} workers, {args.clients} clients): {h['buildings_per_s']:,.0f} new buildings/s "
          f"({h['postcodes_per_s']:,.0f} postcodes/s), {h['edits_per_s']:,.0f} edits/s; errors {h['errors']} "
          f"{h['first_error']}, duplicate postcodes {h['duplicates']}, invalid {h['invalid']}, feed exactly once in "
          f"order: {h['feed_exactly_once_in_order']}; change → answer on every worker over "
          f"{args.latency_samples} changes: p50 {h['p50_s'] * 1000:.0f} ms, p99 {h['p99_s'] * 1000:.0f} ms, "
          f"max {h['max_s'] * 1000:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
