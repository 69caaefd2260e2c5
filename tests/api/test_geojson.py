"""``format=geojson`` through the real app: FeatureCollections (RFC 7946) whose features are the JSON answer's items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model import postcode as pc
from jinef.model.address import Address
from jinef.read.registry.registry import Registry

Api = tuple[TestClient, dict[str, str]]
# Iran's extent: a point outside it has its longitude and latitude swapped (or is wrong).
LON_RANGE, LAT_RANGE = (44.0, 63.5), (25.0, 40.0)


@pytest.fixture(scope="module")
def api(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app for the module, with a key that may geocode, reverse and look up."""
    service_db = tmp_path_factory.mktemp("geojson") / "svc.sqlite"
    store = open_store(service_db)
    key = store.create_key("gis", ["geocode", "reverse", "lookup"], None)[1]
    store.close()
    with TestClient(create_app(small_registry, service_db, key_cache_ttl=0), raise_server_exceptions=False) as c:
        yield c, {"X-API-Key": key}


@pytest.fixture(scope="module")
def unit(small_registry: Path) -> Address:
    """A geocoded unit of a city."""
    with Registry.open(small_registry) as reg:
        return next(a for a in reg.addresses() if a.locality_type == "شهر" and a.lat is not None and a.unit)


@pytest.fixture(scope="module")
def unknown(small_registry: Path, unit: Address) -> str:
    """A postcode that keeps every rule and that no unit has."""
    with Registry.open(small_registry) as reg:
        for n in range(int(unit.postcode) + 1, int(unit.postcode) + 100_000):
            code = pc.validate(str(n)).postcode
            if code is not None and reg.lookup(code) is None:
                return code
    raise AssertionError("no free valid postcode near the unit's")


def _collection(r: Any) -> dict[str, Any]:
    """The answer, checked as a FeatureCollection of Point features (or unlocated ones) in Iran, [lon, lat]."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == "FeatureCollection" and isinstance(body["features"], list)
    for f in body["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "geometry", "properties"}
        assert isinstance(f["properties"], dict)
        if f["geometry"] is not None:
            p = shape(f["geometry"])
            assert isinstance(p, Point) and p.is_valid and not p.is_empty
            assert LON_RANGE[0] <= p.x <= LON_RANGE[1] and LAT_RANGE[0] <= p.y <= LAT_RANGE[1], (p.x, p.y)
    return body


def _at(feature: dict[str, Any], lat: float, lon: float) -> bool:
    # Within 1e-6 degrees (0.1 m): a unit's stored location has 7 decimals, the geocoder's index more.
    return shape(feature["geometry"]).equals_exact(Point(lon, lat), 1e-6)


def test_geocode(api: Api, unit: Address) -> None:
    c, key = api
    params = {"q": unit.standard_address, "limit": 3}
    plain = c.get("/v1/geocode", params=params, headers=key).json()
    body = _collection(c.get("/v1/geocode", params={**params, "format": "geojson"}, headers=key))
    assert [f["properties"] for f in body["features"]] == plain["candidates"]
    assert {k: v for k, v in body.items() if k not in ("type", "features")} == \
        {k: v for k, v in plain.items() if k != "candidates"}
    best = body["features"][0]
    assert best["properties"]["postcode"] == unit.postcode and _at(best, unit.lat, unit.lon)


def test_reverse_one_and_batch(api: Api, unit: Address) -> None:
    c, key = api
    near = {"lat": str(unit.lat + 0.0002), "lon": str(unit.lon)}
    plain = c.get("/v1/reverse", params=near, headers=key).json()
    body = _collection(c.get("/v1/reverse", params={**near, "format": "geojson"}, headers=key))
    assert [f["properties"] for f in body["features"]] == plain["buildings"] and plain["buildings"]
    assert all(_at(f, b["lat"], b["lon"]) for f, b in zip(body["features"], plain["buildings"], strict=True))
    assert body["postcode"] == plain["postcode"] and body["status"] == "ok"

    points = [{"lat": unit.lat + 0.0002, "lon": unit.lon}, {"lat": 95.0, "lon": 51.0}, {"lat": 26.9, "lon": 51.6}]
    json_answer = c.post("/v1/reverse/batch", json={"points": points}, headers=key).json()
    batch = _collection(c.post("/v1/reverse/batch?format=geojson", json={"points": points}, headers=key))
    assert [f["properties"] for f in batch["features"]] == json_answer["results"]
    assert batch["counts"] == json_answer["counts"]
    nearest = plain["buildings"][0]
    assert _at(batch["features"][0], nearest["lat"], nearest["lon"])  # placed at its nearest building
    assert [f["geometry"] for f in batch["features"][1:]] == [None, None]  # invalid, outside Iran: unlocated


def test_lookup_one_and_batch(api: Api, unit: Address, unknown: str) -> None:
    c, key = api
    plain = c.get(f"/v1/postcodes/{unit.postcode}", headers=key).json()  # the hot path's JSON
    body = _collection(c.get(f"/v1/postcodes/{unit.postcode}?format=geojson", headers=key))
    assert len(body["features"]) == 1 and body["features"][0]["properties"] == plain
    assert _at(body["features"][0], plain["location"]["lat"], plain["location"]["lon"])

    inputs = [unit.postcode, unknown, "12345"]
    json_answer = c.post("/v1/postcodes/lookup", json={"postcodes": inputs}, headers=key).json()
    batch = _collection(c.post("/v1/postcodes/lookup", params={"format": "geojson"}, json={"postcodes": inputs},
                               headers=key))
    found, missing, invalid = batch["features"]
    assert found["properties"] == {"input": unit.postcode, **json_answer["results"][0]["result"], "error": None}
    assert _at(found, unit.lat, unit.lon)
    assert missing["geometry"] is None and missing["properties"]["error"]["code"] == "not_found"
    assert invalid["geometry"] is None and invalid["properties"]["error"]["code"] == "invalid_postcode"
    assert (batch["found"], batch["not_found"], batch["invalid"]) == (1, 1, 1)


def test_json_stays_the_default_and_other_formats_are_refused(api: Api, unit: Address, unknown: str) -> None:
    c, key = api
    r = c.get(f"/v1/postcodes/{unit.postcode}", params={"format": "json"}, headers=key)
    assert r.headers["content-type"] == "application/json" and r.json()["postcode"] == unit.postcode
    r = c.get("/v1/geocode", params={"q": "تهران", "format": "kml"}, headers=key)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request" and "format" in r.text
    # The errors of a GeoJSON request are the usual JSON errors.
    r = c.get(f"/v1/postcodes/{unknown}", params={"format": "geojson"}, headers=key)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
