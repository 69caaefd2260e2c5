"""What the benchmarks share: the registries they build once, and waiting for a started service."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
JINEF = [sys.executable, "-m", "jinef.cli.main"]


def registry_path(units: int) -> Path:
    """``var/bench/registry-UNITS.sqlite``, built once (every benchmark reuses the same files)."""
    path = BENCH_DIR / f"registry-{units}.sqlite"
    if not path.is_file():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        print(f"building {path} ({units:,} units)...", flush=True)
        subprocess.run([*JINEF, "build", "--units", str(units), "--db", str(path)], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> bool:
    """Poll ``/healthz`` until the service answers; False if it died or the time ran out."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
