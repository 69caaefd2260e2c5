"""Run every benchmark in bench/ one after another (each prints its own figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The *_bench.py scripts, then the HTTP load, the geocoder's accuracy evaluation and the buildings' crowding.
EXTRA = ("http_load.py", "geocode_eval.py", "crowding.py")

if __name__ == "__main__":
    for script in [*sorted(HERE.glob("*_bench.py")), *(HERE / name for name in EXTRA)]:
        print(f"== {script.name}", flush=True)
        subprocess.run([sys.executable, str(script)], check=False)
