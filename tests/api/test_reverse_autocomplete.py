"""Reverse geocoding, autocomplete, the search page and its basemap through the real app (no mocks)."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model.digits import to_persian_digits
from jinef.model.postcode import from_int
from jinef.read.registry.registry import Registry

GULF = (26.9, 51.6)  # the Persian Gulf: in no province polygon


@pytest.fixture(scope="module")
def web(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One app for the module (the reverse geocoder and autocompleter are built once) and keys by scope set."""
    service_db = tmp_path_factory.mktemp("svc") / "svc.sqlite"
    store = open_store(service_db)
    keys = {
        "all": store.create_key("maps", ["reverse", "geocode", "lookup"], None)[1],
        "lookup": store.create_key("bank", ["lookup"], None)[1],
        "geocode": store.create_key("shop", ["geocode"], None)[1],
    }
    store.close()
    with TestClient(create_app(small_registry, service_db, key_cache_ttl=0), raise_server_exceptions=False) as c:
        yield c, keys


@pytest.fixture(scope="module")
def building(small_registry: Path) -> tuple[float, float, set[str]]:
    """A geocoded building of the small registry: its point and its active postcodes."""
    conn = sqlite3.connect(small_registry)
    bid, lat, lon = conn.execute("SELECT id, lat, lon FROM buildings WHERE lat IS NOT NULL ORDER BY id LIMIT 1 "
                                 "OFFSET 100").fetchone()
    codes = {from_int(r[0]) for r in conn.execute(
        "SELECT postcode FROM units WHERE building_id = ? AND status = 'active'", (bid,))}
    conn.close()
    return lat, lon, codes


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


# -- reverse ---------------------------------------------------------------------------------------

def test_reverse_one_finds_the_building_in_any_digit_form(web: tuple[TestClient, dict[str, str]],
                                                          building: tuple[float, float, set[str]],
                                                          small_registry: Path) -> None:
    c, keys = web
    lat, lon, codes = building
    r = c.get("/v1/reverse", params={"lat": lat, "lon": lon, "limit": 3}, headers=_h(keys["all"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["reason"] is None
    assert body["buildings"][0]["distance_m"] < 1 and len(body["buildings"]) <= 3
    assert body["postcode"] in codes
    assert body["province"]["name"] and body["county"]["name"] and body["plus_code"]
    with Registry.open(small_registry) as reg:
        unit = reg.lookup(body["postcode"])
    assert unit is not None and body["standard_address"] == unit.standard_address
    # Persian digits with the Persian decimal separator, and Arabic-Indic digits: the same answer.
    fa_lat = to_persian_digits(repr(lat)).replace(".", "٫")
    ar_lon = repr(lon).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    r2 = c.get("/v1/reverse", params={"lat": fa_lat, "lon": ar_lon, "limit": 3}, headers=_h(keys["all"]))
    assert r2.status_code == 200, r2.text
    assert r2.json()["buildings"] == body["buildings"]


def test_reverse_outside_iran_and_no_building(web: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = web
    r = c.get("/v1/reverse", params={"lat": GULF[0], "lon": GULF[1]}, headers=_h(keys["all"]))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "outside_iran"
    assert body["province"] is None and body["county"] is None and body["buildings"] == []
    assert body["postcode"] is None and body["plus_code"]
    # Inside Iran, in the desert, with a small radius: province and county, no building.
    r = c.get("/v1/reverse", params={"lat": 33.0, "lon": 55.5, "radius_m": 10}, headers=_h(keys["all"]))
    assert r.status_code == 200
    assert r.json()["status"] == "no_building_within_radius" and r.json()["province"] is not None


@pytest.mark.parametrize(("params", "code", "reason"), [
    ({"lat": "91", "lon": "51"}, "invalid_coordinates", "lat_out_of_range"),
    ({"lat": "35", "lon": "-181"}, "invalid_coordinates", "lon_out_of_range"),
    ({"lat": "abc", "lon": "51"}, "invalid_coordinates", "lat_not_a_number"),
    ({"lat": "35", "lon": "nan"}, "invalid_coordinates", "lon_not_a_number"),
    ({"lat": "35"}, "invalid_request", None),
    ({"lat": "35", "lon": "51", "radius_m": "0"}, "invalid_request", None),
    ({"lat": "35", "lon": "51", "limit": "500"}, "invalid_request", None),
])
def test_reverse_invalid_is_422(web: tuple[TestClient, dict[str, str]], params: dict[str, str], code: str,
                                reason: str | None) -> None:
    c, keys = web
    r = c.get("/v1/reverse", params=params, headers=_h(keys["all"]))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == code
    if reason:
        assert err["reasons"] == [reason] and reason.split("_")[0] in err["message"]
        # Asked in Persian: the same code and reason, the point's problem in Persian.
        fa = c.get("/v1/reverse", params=params, headers={**_h(keys["all"]), "Accept-Language": "fa"}).json()["error"]
        assert fa["code"] == code and fa["reasons"] == [reason]
        assert fa["message"].startswith("نقطه نادرست است: ") and ("عرض" in fa["message"]) == reason.startswith("lat")


def test_reverse_batch_in_order(web: tuple[TestClient, dict[str, str]],
                                building: tuple[float, float, set[str]]) -> None:
    c, keys = web
    lat, lon, codes = building
    points = [{"lat": lat, "lon": lon}, {"lat": GULF[0], "lon": GULF[1]}, {"lat": 95.0, "lon": 51.0},
              {"lat": 33, "lon": 55.5}]
    r = c.post("/v1/reverse/batch", json={"points": points, "radius_m": 50}, headers=_h(keys["all"]))
    assert r.status_code == 200, r.text
    body = r.json()
    res = body["results"]
    assert [x["status"] for x in res] == ["ok", "outside_iran", "invalid", "no_building_within_radius"]
    assert res[0]["postcode"] in codes and res[0]["distance_m"] < 1 and res[0]["building_id"] > 0
    assert res[2]["reason"] == "lat_out_of_range" and res[2]["plus_code"] is None
    assert (res[3]["lat"], res[3]["lon"]) == (33, 55.5)
    assert body["counts"] == {"ok": 1, "no_building_within_radius": 1, "outside_iran": 1, "invalid": 1}


def test_reverse_batch_limits_and_types(web: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = web
    many = [{"lat": 35.0, "lon": 51.0}] * 1001
    r = c.post("/v1/reverse/batch", json={"points": many}, headers=_h(keys["all"]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "batch_too_long"
    r = c.post("/v1/reverse/batch", json={"points": [{"lat": "35", "lon": 51}]}, headers=_h(keys["all"]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = c.post("/v1/reverse/batch", json={"points": []}, headers=_h(keys["all"]))
    assert r.status_code == 422
    r = c.post("/v1/reverse/batch", json={"points": [{"lat": 35, "lon": 51}], "radius_m": 1e9},
               headers=_h(keys["all"]))
    assert r.status_code == 422
    r = c.post("/v1/reverse/batch", json={"points": [{"lat": 35.0, "lon": 51.0}] * 1000}, headers=_h(keys["all"]))
    assert r.status_code == 200 and len(r.json()["results"]) == 1000


def test_scopes_and_keys(web: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = web
    point = {"lat": 35.7, "lon": 51.4}
    for key in (keys["lookup"], keys["geocode"]):
        r = c.get("/v1/reverse", params=point, headers=_h(key))
        assert r.status_code == 403 and r.json()["error"]["code"] == "scope_denied"
        r = c.post("/v1/reverse/batch", json={"points": [point]}, headers=_h(key))
        assert r.status_code == 403
    r = c.get("/v1/autocomplete", params={"q": "تهران"}, headers=_h(keys["lookup"]))
    assert r.status_code == 403
    assert c.get("/v1/autocomplete", params={"q": "تهران"}, headers=_h(keys["geocode"])).status_code == 200
    assert c.get("/v1/reverse", params=point).status_code == 401
    assert c.get("/v1/autocomplete", params={"q": "تهران"}, headers=_h("jnf_nope")).status_code == 401


# -- autocomplete ----------------------------------------------------------------------------------

def _suggest(c: TestClient, key: str, **params: object) -> list[dict[str, object]]:
    r = c.get("/v1/autocomplete", params=params, headers=_h(key))
    assert r.status_code == 200, r.text
    out: list[dict[str, object]] = r.json()["suggestions"]
    return out


def test_autocomplete_half_typed_word(web: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = web
    found = _suggest(c, keys["geocode"], q="ارا", limit=5)
    assert 0 < len(found) <= 5
    top = found[0]
    assert (top["name"], top["level"], top["county"]) == ("اراک", "locality", "اراک")
    assert top["label"] == "استان مرکزی، شهرستان اراک، شهر اراک"
    assert isinstance(top["location"], dict) and 33 < top["location"]["lat"] < 35  # type: ignore[operator]
    # A street: type abbreviation and a half-typed name; the label ends with the street.
    streets = _suggest(c, keys["geocode"], q="خ آزا")
    assert streets and all(s["name"] == "خیابان آزادی" for s in streets[:3])
    assert str(streets[0]["label"]).endswith("، خیابان آزادی")
    assert len({s["label"] for s in streets}) == len(streets)  # no duplicate lines


def test_autocomplete_letter_variants_and_context(web: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = web
    persian = _suggest(c, keys["geocode"], q="شهرک شمیران")
    arabic = _suggest(c, keys["geocode"], q="شهرك شميران")  # Arabic kaf and yeh
    assert persian and persian == arabic
    assert persian[0]["name"] == "شهرک شمیران" and persian[0]["level"] == "neighbourhood"
    # A locality word narrows a common name, in the query or as a filter.
    in_query = _suggest(c, keys["geocode"], q="گلستان اراک")
    assert in_query and in_query[0]["locality"] == "شهر اراک"
    filtered = _suggest(c, keys["geocode"], q="گلستان", locality="اراك")
    assert filtered and {s["locality"] for s in filtered} == {"شهر اراک"}
    assert _suggest(c, keys["geocode"], q="ژژژژ") == []
    assert _suggest(c, keys["geocode"], q="  ،  ") == []
    assert c.get("/v1/autocomplete", params={"q": ""}, headers=_h(keys["geocode"])).status_code == 422
    assert c.get("/v1/autocomplete", params={"q": "a", "limit": 0}, headers=_h(keys["geocode"])).status_code == 422


def test_new_endpoints_are_audited(small_registry: Path, service_db: Path,
                                   building: tuple[float, float, set[str]]) -> None:
    store = open_store(service_db)
    key = store.create_key("audited", ["reverse", "geocode"], None)[1]
    store.close()
    lat, lon, _ = building
    with TestClient(create_app(small_registry, service_db)) as c:
        c.get("/v1/reverse", params={"lat": lat, "lon": lon}, headers=_h(key))
        c.get("/v1/reverse", params={"lat": "x", "lon": lon}, headers=_h(key))
        c.post("/v1/reverse/batch", json={"points": [{"lat": lat, "lon": lon}] * 7}, headers=_h(key))
        c.get("/v1/autocomplete", params={"q": "ارا"}, headers=_h(key))
    store = open_store(service_db)
    records = sorted(store.tail_audit(100, org="audited"), key=lambda r: r.ts)
    store.close()
    got = [(r.endpoint, r.items, r.status, r.outcome) for r in records]
    assert got == [("/v1/reverse", 1, 200, "ok"), ("/v1/reverse", 1, 422, "invalid"),
                   ("/v1/reverse/batch", 7, 200, "ok"), ("/v1/autocomplete", 1, 200, "ok")]


# -- the page and its basemap ----------------------------------------------------------------------

def test_page_is_self_contained(web: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = web
    r = c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'dir="rtl"' in r.text and 'lang="fa"' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "http://" not in r.text and "https://" not in r.text  # nothing loaded from elsewhere
    for path in ("/static/app.js", "/static/app.css", "/static/vendor/leaflet/leaflet.js",
                 "/static/vendor/leaflet/leaflet.css", "/static/vendor/leaflet/images/marker-icon.png",
                 "/static/vendor/leaflet/LICENSE"):
        assert c.get(path).status_code == 200, path


def test_basemap_geojson_cached(web: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = web
    r = c.get("/v1/basemap/provinces.geojson", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 31
    assert {"code", "name"} <= set(doc["features"][0]["properties"])
    etag = r.headers["etag"]
    assert c.get("/v1/basemap/provinces.geojson", headers={"If-None-Match": etag}).status_code == 304
    z = c.get("/v1/basemap/counties.geojson", headers={"Accept-Encoding": "gzip"})
    assert z.status_code == 200 and z.headers.get("content-encoding") == "gzip"
    counties = json.loads(z.content if z.content[:1] == b"{" else gzip.decompress(z.content))
    assert len(counties["features"]) > 400
    assert c.get("/v1/basemap/districts.geojson").status_code == 422
