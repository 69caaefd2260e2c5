"""A real `jinef serve --workers 2` on a loopback port: the quota is shared and no audit record is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jinef.api.servicedb import open_store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(small_registry: Path, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`jinef serve --workers 2` in a subprocess; stopped with SIGTERM (graceful) at the end."""
    service_db = tmp_path / "svc.sqlite"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jinef.cli.main", "serve", "--db", str(small_registry), "--service-db",
         str(service_db), "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "info"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 90
    # Wait for both workers, not just the first: on a busy machine the second one can lag by seconds,
    # and a burst sent before it listens would all go to one worker.
    while sum("Application startup complete" in ln for ln in lines) < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"jinef serve did not start: {''.join(lines)[-2000:]}")
        time.sleep(0.2)
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"jinef serve did not answer: {''.join(lines)[-2000:]}")
        time.sleep(0.2)
    try:
        yield url, service_db, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _burst(url: str, key: str, n: int, conns: int) -> list[httpx.Response]:
    """``n`` validate calls over ``conns`` separate connections (so both workers take some)."""
    clients = [httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30) for _ in range(conns)]
    try:
        tasks = [clients[i % conns].get("/v1/postcodes/1111300003/validate") for i in range(n)]
        return await asyncio.gather(*tasks)
    finally:
        for c in clients:
            await c.aclose()


def test_quota_shared_across_workers_and_audit_complete(server: tuple[str, Path, subprocess.Popen[bytes]]) -> None:
    url, service_db, proc = server
    store = open_store(service_db)
    limited = store.create_key("metered", ["lookup"], 5.0)[1]  # 5 requests/s, burst 5, for the whole org
    free = store.create_key("bulk", ["lookup"], None)[1]
    store.close()

    t0 = time.monotonic()
    statuses = [r.status_code for r in asyncio.run(_burst(url, limited, 80, 16))]
    elapsed = time.monotonic() - t0
    ok = statuses.count(200)
    # One bucket for both workers: at most the burst plus what refilled while the burst ran.
    assert ok <= 5 + 5 * elapsed + 1, (ok, elapsed)
    assert ok >= 5
    assert statuses.count(429) == 80 - ok

    sent = 80 + len(asyncio.run(_burst(url, free, 600, 16)))
    proc.send_signal(signal.SIGTERM)  # graceful stop: each worker finishes the calls under way
    assert proc.wait(timeout=60) == 0

    store = open_store(service_db)
    recs = [r for r in store.iter_audit() if r.org in ("metered", "bulk")]
    store.close()
    assert len(recs) == sent  # nothing lost
    assert len({r.worker for r in recs}) == 2  # both workers answered, and both wrote their records
    assert sum(r.status == 429 for r in recs) == 80 - ok


def test_every_answered_call_is_recorded_even_when_the_server_is_killed(
        server: tuple[str, Path, subprocess.Popen[bytes]]) -> None:
    """Answers leave only after their audit record is committed: SIGKILL right after them loses none."""
    url, service_db, proc = server
    store = open_store(service_db)
    key = store.create_key("killed", ["lookup"], None)[1]
    store.close()

    pids = [*_children(proc.pid), proc.pid]  # the supervisor and its workers

    rs = asyncio.run(_burst(url, key, 400, 8))
    for pid in pids:  # at once, no graceful anything
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    answered = [r.headers["X-Request-ID"] for r in rs if r.status_code == 200]
    assert len(answered) == 400
    proc.wait(timeout=30)
    store = open_store(service_db)
    recorded = {r.request_id for r in store.iter_audit() if r.org == "killed"}
    store.close()
    assert set(answered) <= recorded


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out
