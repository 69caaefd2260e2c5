"""The provinces' dashboard over HTTP: scopes, figures equal to raw counts, plans bound to a key's province,
snapshots moving a plan, the public definitions and the page."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from jinef.api.servicedb import open_store
from tests.api.conftest import KeyMaker
from tests.stats.conftest import unit_places


def test_stats_need_the_stats_scope_and_equal_raw_counts(client: TestClient, make_key: KeyMaker,
                                                         small_registry: Path) -> None:
    assert client.get("/v1/stats/provinces").status_code == 401
    lookup = make_key("bank", ("lookup",))
    denied = client.get("/v1/stats/provinces", headers={"X-API-Key": lookup})
    assert denied.status_code == 403 and "stats" in denied.json()["error"]["message"]
    key = make_key("ministry", ("stats",))
    body = client.get("/v1/stats/provinces", headers={"X-API-Key": key}).json()
    units = Counter(v[1] for v in unit_places(small_registry).values() if v[0] == "active")
    assert {p["code"]: p["units"] for p in body["provinces"] if p["units"]} == dict(units)
    assert {m["key"]: m["definition_url"] for m in body["measures"]}["units"] == "/v1/stats/definitions#units"
    one = client.get("/v1/stats/provinces/23", headers={"X-API-Key": key}).json()
    assert one["province"]["name"] == "تهران" and one["province"]["units"] == units["23"]
    assert sum(c["units"] for c in one["counties"]) == units["23"] and one["plans"] == []
    missing = client.get("/v1/stats/provinces/99", headers={"X-API-Key": key})
    assert missing.status_code == 404 and "99" in missing.json()["error"]["message"]


def test_plans_by_a_provinces_key_and_snapshots_move_them(client: TestClient, service_db: Path,
                                                          small_registry: Path) -> None:
    store = open_store(service_db)
    tehran = store.create_key("tehran-office", ["stats", "plans"], None, province="23")[1]
    store.close()
    h = {"X-API-Key": tehran}
    plan = {"province": "23", "measure": "units", "target": 5000, "deadline": "1405-06-31", "note": "سرشماری"}
    other = client.post("/v1/plans", json={**plan, "province": "00"}, headers=h)
    assert other.status_code == 403 and "'23'" in other.json()["error"]["message"]
    bad = client.post("/v1/plans", json={**plan, "deadline": "1405-13-01"}, headers=h)
    assert bad.status_code == 422 and "1405-13-01" in bad.json()["error"]["message"]
    made = client.post("/v1/plans", json=plan, headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["deadline"] == "2026-09-22" and made.json()["trajectory"] == []
    shot = client.post("/v1/stats/snapshots", headers=h)
    assert shot.status_code == 201
    plans = client.get("/v1/plans", params={"province": "23"}, headers=h).json()["plans"]
    units = sum(1 for v in unit_places(small_registry).values() if v[0] == "active" and v[1] == "23")
    assert [p["value"] for p in plans[0]["trajectory"]] == [units]
    assert plans[0]["reached"] == round(units / 5000, 6)
    reader = open_store(service_db)
    only_stats = reader.create_key("reader", ["stats"], None)[1]
    reader.close()
    assert client.post("/v1/plans", json=plan, headers={"X-API-Key": only_stats}).status_code == 403


def test_definitions_are_public_json_or_a_page_with_an_anchor_per_measure(client: TestClient) -> None:
    as_json = client.get("/v1/stats/definitions").json()["measures"]
    assert {m["key"] for m in as_json} >= {"units", "buildings", "geocoded_share", "verified_share", "issued"}
    assert all("SELECT" in m["sql"] for m in as_json)
    page = client.get("/v1/stats/definitions", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="units"' in page.text and 'id="served"' in page.text and "geocode_quality = 3" in page.text


def test_the_page_is_persian_rtl_and_strict(client: TestClient) -> None:
    r = client.get("/provinces")
    assert r.status_code == 200 and 'dir="rtl"' in r.text and "داشبورد استان‌ها" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for asset in ("/static/provinces.js", "/static/provinces.css", "/static/vendor/chartjs/chart.umd.min.js"):
        assert client.get(asset).status_code == 200, asset
