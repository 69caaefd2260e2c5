"""Autocomplete latency: `python bench/autocomplete_bench.py [--units N] [--db PATH]`.

Replays typing: for registry names picked at random (streets with their locality, neighbourhoods,
localities), every prefix as it is typed, one keystroke at a time. Prints the index build time and the
latency per keystroke in process and through a real `jinef serve` on loopback (p50/p99/max).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jinef.read.geocode.autocomplete import Autocompleter
from jinef.read.registry.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, registry_path


def typed_queries(ac: Autocompleter, n_names: int, seed: int = 1) -> list[str]:
    """Every keystroke prefix of ``n_names`` random names (a street is typed with its locality after it)."""
    rng = random.Random(seed)
    out: list[str] = []
    for e in rng.sample(range(len(ac)), min(n_names, len(ac))):
        text = ac.name(e)
        lr = int(ac.locality_row[e])
        if ac.level[e] != 0 and lr >= 0 and rng.random() < 0.5:
            text += " " + ac.locality_names[lr].split(" ", 1)[-1]
        out += [text[:i] for i in range(1, len(text) + 1) if not text[:i].endswith(" ")]
    return out


def pct(ms: list[float]) -> str:
    """p50 / p99 / max of latencies in ms."""
    a = np.array(ms)
    return f"p50 {np.percentile(a, 50):.2f} ms, p99 {np.percentile(a, 99):.2f} ms, max {a.max():.2f} ms"


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=200_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--names", type=int, default=400)
    args = ap.parse_args()
    path = args.db or registry_path(args.units)
    with Registry.open(path) as reg:
        t = time.perf_counter()
        ac = reg.autocomplete
        print(f"{path}: {len(ac):,} names, {len(ac.vocab):,} words, opened in {time.perf_counter() - t:.2f} s")
    queries = typed_queries(ac, args.names)
    for q in queries[:200]:
        ac.suggest(q)  # warm caches
    lib: list[float] = []
    cpu: list[float] = []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        ac.suggest(q, limit=8)
        cpu.append((time.thread_time() - c) * 1000)
        lib.append((time.perf_counter() - t) * 1000)
    # CPU time is what a query costs; wall time also counts waiting for a core on a busy machine.
    print(f"library, {len(queries):,} keystrokes: wall {pct(lib)}; cpu {pct(cpu)}")

    http, server = http_latencies(path, queries[:3000])
    print(f"HTTP (jinef serve on loopback, one keep-alive client), {len(http):,} keystrokes: client {pct(http)}; "
          f"server-side (audit latency_ms) {pct(server)}")


def http_latencies(path: Path, queries: list[str]) -> tuple[list[float], list[float]]:
    """Per-request latency of /v1/autocomplete through a real one-worker `jinef serve`: client and server side."""
    import httpx

    from jinef.api.servicedb import open_store

    with tempfile.TemporaryDirectory() as tmp:
        svc = Path(tmp) / "svc.sqlite"
        store = open_store(svc)
        key = store.create_key("bench", ["geocode"], None)[1]
        store.close()
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "jinef.cli.main", "serve", "--db", str(path), "--service-db",
                                 str(svc), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=60) as c:
                for _ in range(300):
                    try:
                        if c.get("/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.2)
                for q in queries[:200]:
                    c.get("/v1/autocomplete", params={"q": q})  # build the index, warm caches
                out: list[float] = []
                for q in queries:
                    t = time.perf_counter()
                    r = c.get("/v1/autocomplete", params={"q": q, "limit": 8})
                    out.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
        finally:
            proc.terminate()
            proc.wait(30)  # graceful: the audit records are written before it exits
        store = open_store(svc)
        records = store.tail_audit(len(queries), org="bench")
        store.close()
        return out, [r.latency_ms for r in records if r.endpoint == "/v1/autocomplete"]

if __name__ == "__main__":
    main()
