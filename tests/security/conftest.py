"""A real `jinef serve --workers 2` on a loopback port, shared by the adversarial tests, and helpers.

Every setting the tests need is given through the environment rather than as options, so that the
same tests start a server on a version without those settings too (and fail on its behaviour,
not on an unknown option): that is how each test was checked to fail before the fixes.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from jinef.api.servicedb import open_store
from jinef.model.digits import to_latin_digits
from jinef.model.postcode import from_int
from jinef.read.verify import national_code as ncode

JINEF = [sys.executable, "-m", "jinef.cli.main"]
# Short limits so that slow-client tests take seconds (the defaults are 10 s, 30 s and 256).
SLOW_CLIENT_ENV = {"JINEF_HEADER_TIMEOUT": "1", "JINEF_BODY_TIMEOUT": "1", "JINEF_MAX_CONNS_PER_CLIENT": "20"}
WORKERS = 2


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `jinef serve` and its files."""

    url: str
    port: int
    registry: Path
    service_db: Path
    verify_db: Path
    proc: subprocess.Popen[bytes]
    log: list[str] = field(default_factory=list)

    def key(self, org: str, scopes: tuple[str, ...], rate: float | None = None) -> str:
        """A new key of organisation ``org`` (created if new)."""
        store = open_store(self.service_db)
        try:
            return store.create_key(org, list(scopes), rate)[1]
        finally:
            store.close()

    def org_id(self, org: str) -> int:
        """The service database's id of an organisation."""
        with sqlite3.connect(self.service_db) as conn:
            return int(conn.execute("SELECT id FROM orgs WHERE name = ?", (org,)).fetchone()[0])

    def client(self, key: str | None = None) -> httpx.Client:
        """A client of the server (the caller closes it)."""
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key} if key else {}, timeout=30)

    def otp(self, ref: str) -> str:
        """The one-time code texted for a request (from the development outbox; opened with the key ring)."""
        with sqlite3.connect(self.verify_db) as conn:
            row = conn.execute("SELECT body FROM verify_outbox WHERE ref = ? ORDER BY id DESC LIMIT 1",
                               (ref,)).fetchone()
        assert row, f"no message for {ref}"
        body = str(row[0])
        if body.startswith("sealed:"):
            from jinef.read.verify.keys import load_ring
            from jinef.read.verify.seal import unseal
            body = unseal(load_ring(None, db_path=self.verify_db, environ={}, create=False), body)
        found = re.search(r"\d{6}", to_latin_digits(body))
        assert found, body
        return found.group()

    def stop(self) -> None:
        """Stop the server (graceful, then hard)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(registry: Path, folder: Path, env: dict[str, str], workers: int = WORKERS) -> Server:
    """`jinef serve` over ``registry`` with its service and hub databases in ``folder``; waits until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    service_db, verify_db = folder / "registry.service.sqlite", folder / "registry.verify.sqlite"
    full_env = {k: v for k, v in os.environ.items() if k != "JINEF_VERIFY_KEY"}
    proc = subprocess.Popen(
        [*JINEF, "serve", "--db", str(registry), "--service-db", str(service_db), "--verify-db", str(verify_db),
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "info"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**full_env, **env},
        preexec_fn=lambda: os.umask(0o022))  # the usual umask: files come out 0644 unless created private
    server = Server(f"http://127.0.0.1:{port}", port, registry, service_db, verify_db, proc)

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            server.log.append(raw.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 120
    while sum("Application startup complete" in ln for ln in server.log) < workers:
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"jinef serve did not start: {''.join(server.log)[-3000:]}")
        time.sleep(0.2)
    while True:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"jinef serve did not answer: {''.join(server.log)[-3000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def server(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared server: two workers, the development SMS outbox, short slow-client limits."""
    s = start_server(small_registry, tmp_path_factory.mktemp("served"),
                     {"JINEF_DEV_SMS_OUTBOX": "1", **SLOW_CLIENT_ENV})
    try:
        yield s
    finally:
        s.stop()


class Postcodes:
    """Active postcodes of the small registry, handed out so that no two tests share one (the hub's counts
    are per postcode); ``lookups`` are for read-only batches, which may share."""

    def __init__(self, codes: list[str]) -> None:
        self._codes = iter(codes)
        self.lookups = codes[:1000]

    def take(self, n: int) -> list[str]:
        """``n`` postcodes nobody has been given."""
        return [next(self._codes) for _ in range(n)]


@pytest.fixture(scope="session")
def postcodes(small_registry: Path) -> Postcodes:
    """The postcode dispenser."""
    with sqlite3.connect(small_registry) as conn:
        codes = [from_int(r[0]) for r in conn.execute(
            "SELECT postcode FROM units WHERE status = 'active' ORDER BY postcode LIMIT 5000")]
    return Postcodes(codes)


_people = itertools.count(100_000_001, 7919)
_mobiles = itertools.count(1_000_001)


def people(n: int) -> list[str]:
    """``n`` valid national codes no other test uses."""
    return [ncode.complete(f"{next(_people):09d}") for _ in range(n)]


def mobiles(n: int) -> list[str]:
    """``n`` mobile numbers no other test uses."""
    return [f"0912{next(_mobiles):07d}" for _ in range(n)]


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST JSON."""
    return client.post(path, json=body)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `jinef …` in a subprocess (the real command, on real files)."""
    full_env = {k: v for k, v in os.environ.items() if k != "JINEF_VERIFY_KEY"}
    return subprocess.run([*JINEF, *args], capture_output=True, text=True, timeout=timeout,
                          env={**full_env, **(env or {})})
