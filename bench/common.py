"""What the benchmarks share: the registries they build once, waiting for a started service, wrk, CPU time."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
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


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@dataclass(frozen=True)
class WrkResult:
    """What wrk printed for one run."""

    requests: int
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str  # "" when none

    def line(self, name: str, seconds: float, conns: int, items: int = 1) -> str:
        """One printed line of figures."""
        sock = f"  socket errors: {self.socket_errors}" if self.socket_errors else ""
        return (f"{name:<22} {self.requests:>7,} requests in {seconds:5.1f} s  {self.rate:>8,.0f} req/s  "
                f"{self.rate * items:>9,.0f} items/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
                f"non-2xx {self.non_2xx}{sock}  ({conns} connections, 1 wrk thread)")


def get_lua(paths: Sequence[str]) -> str:
    """A wrk script that GETs one of ``paths`` (already URL-encoded), chosen at random, per request."""
    return ("local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
            "request = function()\n  return wrk.format('GET', paths[math.random(#paths)])\nend\n")


def post_lua(path: str, bodies: Sequence[str]) -> str:
    """A wrk script that POSTs one of the JSON ``bodies``, chosen at random, to ``path`` per request."""
    return ("local bodies = {" + ",".join(f"[[{b}]]" for b in bodies) + "}\n"
            "wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n"
            f"request = function()\n  return wrk.format(nil, '{path}', nil, bodies[math.random(#bodies)])\nend\n")


def run_wrk(url: str, key: str, lua: str, seconds: int, conns: int) -> WrkResult | None:
    """Drive ``url`` with wrk (a C client: a Python client costs more CPU than the server does) and the
    request function in ``lua``; None when wrk is not installed or printed no figures (shown)."""
    if not shutil.which("wrk"):
        print("wrk not installed (apt-get install wrk)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-H", f"X-API-Key: {key}",
                              "-s", fh.name, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(fh.name)
    # The percentiles are read from the latency distribution's own lines ("    50%    3.21ms"): a thread
    # statistics line can hold "…86.50%" too.
    found = [re.search(p, out, re.M) for p in (r"(\d+) requests in", r"Requests/sec:\s+([\d.]+)",
                                               r"^\s+50%\s+(\S+)$", r"^\s+99%\s+(\S+)$")]
    if not all(found):
        print(f"wrk printed no figures:\n{out}")
        return None
    n, rate, p50, p99 = (f.group(1) for f in found if f is not None)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return WrkResult(int(n), float(rate), _wrk_ms(p50, out), _wrk_ms(p99, out), int(errors.group(1)) if errors else 0,
                     sock.group(1) if sock else "")


def _wrk_ms(text: str, out: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"wrk latency {text!r} not understood:\n{out}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants (Linux /proc).

    A service's CPU per request depends much less than its rate on what else the cores are running.
    """
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / tick
        todo.extend(children.get(pid, ()))
    return total


def python_speed() -> str:
    """How fast this machine runs plain Python right now: seconds for a fixed 10M-step loop.

    Rates on a shared VM move with its neighbours' load even at a low load average here; this line lets
    two runs' figures be compared (lower is faster).
    """
    t = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return f"python speed: a 10M-step loop in {time.perf_counter() - t:.2f} s"
