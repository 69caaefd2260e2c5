"""Profile the geocoder on harness addresses: CPU time per address, and where it goes.

Run: ``.venv/bin/python bench/geocode_profile.py --db var/bench/registry-200000.sqlite --n 3000 [--profile]``.
The addresses are the harness's (same seed, every noise kind); times are CPU time, not wall time,
because the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from geocode_eval import CONFLICT_KIND, LEVEL_KINDS, UNIT_KINDS, draw, write  # noqa: E402

from jinef.read.geocode.geocoder import Geocoder  # noqa: E402
from jinef.read.registry.registry import Registry  # noqa: E402
from jinef.text.parser import parse_address  # noqa: E402


def texts(reg: Registry, gc: Geocoder, n: int, seed: int) -> list[str]:
    """The harness's addresses, in its order."""
    rng = random.Random(seed)
    sample = draw(reg, gc, n, rng)
    kinds = (*UNIT_KINDS, *LEVEL_KINDS, CONFLICT_KIND)
    per_kind = max(1, len(sample) // len(kinds))
    out = []
    for k, kind in enumerate(kinds):
        for a, _ in sample[k * per_kind : (k + 1) * per_kind]:
            out.append(write(a, kind, rng, sample[rng.randrange(len(sample))][0]))
    return out


def main() -> None:
    """Time (and optionally profile) parse and geocode over the harness addresses."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=str(ROOT / "var/bench/registry-200000.sqlite"))
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=35)
    args = ap.parse_args()
    reg = Registry.open(Path(args.db))
    gc = reg.geocoder
    xs = texts(reg, gc, args.n, args.seed)
    for label, f in (("parse_address", parse_address), ("geocode", lambda t: gc.geocode(t, limit=5))):
        c0 = time.process_time()
        for t in xs:
            f(t)
        cpu = time.process_time() - c0
        print(f"{label:<14} {len(xs)} addresses: {cpu * 1e6 / len(xs):7.1f} µs CPU each, "
              f"{len(xs) / cpu:7.0f} per CPU second (warm caches after the first pass)")
    print("load average", open("/proc/loadavg").read().strip())
    if args.profile:
        pr = cProfile.Profile(time.process_time)  # CPU time: wall time on a shared machine misleads
        pr.enable()
        for t in xs:
            gc.geocode(t, limit=5)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
