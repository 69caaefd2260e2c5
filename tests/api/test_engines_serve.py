"""`jinef serve` on each storage engine: a real server on a loopback port answers lookups, geocoding and reverse
geocoding from the registry's read image, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jinef.api.servicedb import open_store
from jinef.common.config import RegistryLocation
from jinef.read.registry.registry import Registry
from tests.api.conftest import running_serve
from tests.conftest import ENGINE_SEED, EngineRegistries, build_registry, pg_location


@pytest.fixture
def served(engine_registry: Path | str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`jinef serve --db <the engine's registry>` in a subprocess with a fresh key; (url, key)."""
    service_db = tmp_path / "svc.sqlite"
    store = open_store(service_db)
    key = store.create_key("bank", ["lookup", "geocode", "reverse"], None)[1]
    store.close()
    with running_serve("--db", str(engine_registry), "--service-db", str(service_db), "--verify-db",
                       str(tmp_path / "hub.sqlite")) as url:
        yield url, key


def test_serve_answers_lookups_geocode_and_reverse(engine: str, engine_registry: Path | str,
                                                   served: tuple[str, str]) -> None:
    url, key = served
    headers = {"X-API-Key": key}
    with Registry.open(engine_registry) as reg:
        sample = [a for i, a in enumerate(reg.addresses()) if i % 397 == 0][:8]
    assert len(sample) >= 5
    for a in sample:
        r = httpx.get(f"{url}/v1/postcodes/{a.postcode}", headers=headers)
        assert r.status_code == 200, (engine, r.text)
        assert r.json()["standard_address"] == a.standard_address
        g = httpx.get(f"{url}/v1/geocode", params={"q": a.standard_address}, headers=headers)
        assert g.status_code == 200, (engine, g.text)
        assert g.json()["candidates"][0]["postcode"] == a.postcode
        assert a.lat is not None and a.lon is not None
        rv = httpx.get(f"{url}/v1/reverse", params={"lat": a.lat, "lon": a.lon}, headers=headers)
        assert rv.status_code == 200, (engine, rv.text)
        body = rv.json()
        assert body["status"] == "ok" and body["buildings"][0]["distance_m"] < 0.05  # addresses round to 1 cm
        assert a.postcode in body["buildings"][0]["postcodes"]
    health = httpx.get(f"{url}/healthz").json()
    assert health["generation"] == Registry.open(engine_registry).generation


def test_index_if_stale_compiles_only_a_missing_image(pg_dsn: str, engine_registries: EngineRegistries) -> None:
    """`jinef index --if-stale` (what `jinef serve` does first) compiles an image that is gone, and only then."""
    loc = build_registry(pg_location(pg_dsn, "noimage"), 500, ENGINE_SEED, engine_registries.divisions,
                         engine_registries.boundaries)
    shutil.rmtree(RegistryLocation.of(str(loc)).image_root)
    out = subprocess.run([sys.executable, "-m", "jinef.cli.main", "index", "--db", str(loc), "--if-stale"],
                         capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert Registry.open(loc).image.manifest["counts"]["units"] == 500
    again = subprocess.run([sys.executable, "-m", "jinef.cli.main", "index", "--db", str(loc), "--if-stale"],
                           capture_output=True, text=True, env={**os.environ})
    assert again.returncode == 0 and "is current" in " ".join(again.stderr.split())
