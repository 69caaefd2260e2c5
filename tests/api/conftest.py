"""Fixtures for the HTTP service: the real app over the small registry, with a fresh service database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model.postcode import from_int

KeyMaker = Callable[..., str]


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
