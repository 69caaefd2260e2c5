"""Fixtures for the HTTP service: the real app over the small registry, with a fresh service database."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model.postcode import from_int

KeyMaker = Callable[..., str]


@contextmanager
def running_serve(*args: str, start_seconds: float = 90, env: dict[str, str] | None = None) -> Iterator[str]:
    """`jinef serve ARGS` on a free loopback port in a subprocess (``env``: variables set for it), until it answers
    /healthz; yields its base URL and stops it (SIGTERM, graceful) at the end."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "jinef.cli.main", "serve", *args, "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"jinef serve did not answer: {''.join(lines)[-2000:]}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def sample_postcodes(small_registry: Path) -> list[str]:
    """A few real postcodes of the small registry (active, geocoded)."""
    conn = sqlite3.connect(small_registry)
    rows = conn.execute("""SELECT u.postcode FROM units u JOIN buildings b ON b.id = u.building_id
                           WHERE u.status = 'active' AND b.lat IS NOT NULL ORDER BY u.postcode LIMIT 200""")
    codes = [from_int(r[0]) for r in rows]
    conn.close()
    return codes


@pytest.fixture
def service_db(tmp_path: Path) -> Path:
    """A fresh service database path."""
    return tmp_path / "registry.service.sqlite"


@pytest.fixture
def make_key(service_db: Path) -> KeyMaker:
    """Create a key: make_key(org=..., scopes=[...], rate=None) → the key."""

    def make(org: str = "bank", scopes: tuple[str, ...] = ("lookup", "metrics"), rate: float | None = None) -> str:
        store = open_store(service_db)
        try:
            return store.create_key(org, list(scopes), rate)[1]
        finally:
            store.close()

    return make


@pytest.fixture
def client(small_registry: Path, service_db: Path) -> Iterator[TestClient]:
    """The real app (lifespan run, so the audit writer flushes on exit)."""
    app = create_app(small_registry, service_db, key_cache_ttl=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
