"""Forward geocoding over HTTP: free text, batch, structured, scopes and bad input (real app, real registry)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model.address import Address
from jinef.model.digits import to_persian_digits
from jinef.read.registry.registry import Registry


@pytest.fixture(scope="module")
def api(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One app for the module (the geocoder index is built once) and keys by scope."""
    service_db = tmp_path_factory.mktemp("svc") / "svc.sqlite"
    store = open_store(service_db)
    keys = {"geocode": store.create_key("shop", ["geocode"], None)[1],
            "lookup": store.create_key("bank", ["lookup"], None)[1]}
    store.close()
    with TestClient(create_app(small_registry, service_db, key_cache_ttl=0), raise_server_exceptions=False) as c:
        yield c, keys


@pytest.fixture(scope="module")
def flat(small_registry: Path) -> Address:
    """A unit in a multi-unit building of a city (so plate, floor and unit name it)."""
    with Registry.open(small_registry) as reg:
        for a in reg.addresses():
            if a.locality_type == "شهر" and a.floor and a.unit and a.prev_thoroughfare:
                return a
    raise AssertionError("no flat in the small registry")


def test_standard_address_finds_its_postcode(api: tuple[TestClient, dict[str, str]], flat: Address) -> None:
    c, keys = api
    r = c.get("/v1/geocode", params={"q": flat.standard_address}, headers={"X-API-Key": keys["geocode"]})
    assert r.status_code == 200
    body = r.json()
    assert body["level"] == "unit"
    assert body["candidates"][0]["postcode"] == flat.postcode
    assert 0.0 <= body["candidates"][0]["confidence"] <= 1.0


def test_informal_writing(api: tuple[TestClient, dict[str, str]], flat: Address) -> None:
    c, keys = api
    text = (f"{flat.locality} {flat.prev_thoroughfare.replace('خیابان', 'خ')} {flat.last_thoroughfare} "
            f"پ{to_persian_digits(flat.plate)} ط{flat.floor} واحد {flat.unit}")
    r = c.get("/v1/geocode", params={"q": text, "limit": 3}, headers={"X-API-Key": keys["geocode"]})
    assert r.status_code == 200 and r.json()["candidates"][0]["postcode"] == flat.postcode


def test_batch_in_order_with_a_bad_row(api: tuple[TestClient, dict[str, str]], flat: Address) -> None:
    c, keys = api
    r = c.post("/v1/geocode/batch", json={"addresses": [flat.standard_address, "\x00\x01", "hello world"]},
               headers={"X-API-Key": keys["geocode"]})
    assert r.status_code == 200
    results = r.json()["results"]
    assert results[0]["level"] == "unit" and results[0]["candidates"][0]["postcode"] == flat.postcode
    assert results[1]["level"] == "none" and results[1]["reason"]
    assert results[2]["level"] == "none" and results[2]["reason"]


def test_structured(api: tuple[TestClient, dict[str, str]], flat: Address) -> None:
    c, keys = api
    body = {"province": flat.province, "locality": flat.locality,
            "streets": [flat.prev_thoroughfare, flat.last_thoroughfare], "plate": flat.plate,
            "floor": flat.floor, "unit": flat.unit}
    r = c.post("/v1/geocode/structured", json=body, headers={"X-API-Key": keys["geocode"]})
    assert r.status_code == 200 and r.json()["candidates"][0]["postcode"] == flat.postcode


@pytest.mark.parametrize("req", [
    ("get", "/v1/geocode", {"params": {"q": ""}}),
    ("get", "/v1/geocode", {"params": {"q": "تهران", "limit": 0}}),
    ("get", "/v1/geocode", {"params": {"q": "تهران", "near_lat": 35.7}}),
    ("post", "/v1/geocode/batch", {"json": {"addresses": []}}),
    ("post", "/v1/geocode/batch", {"json": {"addresses": ["x"] * 1001}}),
    ("post", "/v1/geocode/structured", {"json": {"floor": "سوم"}}),
    ("post", "/v1/geocode/structured", {"json": {"colour": "blue"}}),
])
def test_bad_requests_are_422(api: tuple[TestClient, dict[str, str]], req: tuple[str, str, dict]) -> None:  # type: ignore[type-arg]
    c, keys = api
    method, url, kw = req
    r = getattr(c, method)(url, headers={"X-API-Key": keys["geocode"]}, **kw)
    assert r.status_code == 422, r.text


def test_scope_and_key(api: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = api
    assert c.get("/v1/geocode", params={"q": "تهران"}).status_code == 401
    assert c.get("/v1/geocode", params={"q": "تهران"}, headers={"X-API-Key": keys["lookup"]}).status_code == 403


def test_structured_unreadable_postcode_is_set_aside(api: tuple[TestClient, dict[str, str]], flat: Address) -> None:
    c, keys = api
    body = {"locality": flat.locality, "streets": [flat.last_thoroughfare], "plate": flat.plate, "postcode": "ú"}
    r = c.post("/v1/geocode/structured", json=body, headers={"X-API-Key": keys["geocode"]})
    assert r.status_code == 200
    assert any("not a valid postcode" in x for x in r.json()["ignored"])
