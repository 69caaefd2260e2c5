"""The office workflow for a new building over HTTP on both engines: a builder's request, a field survey, an
approval by an operator of the province that allocates the postcodes; each step kept with who and when; an
operator of another province, or a key without the scope, is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model.postcode import is_valid
from tests.living.conftest import city_building, parts_beside


@pytest.fixture
def office(editable: Path | str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on an editable registry and keys: builder portal, field agent, operators of two provinces."""
    svc = tmp_path / "svc.sqlite"
    a = city_building(editable)
    store = open_store(svc)
    province = _province_code(editable, a.province)
    other = "99" if province != "99" else "98"
    keys = {"portal": store.create_key("e-gov portal", ["building_request"], None)[1],
            "agent": store.create_key("field team", ["registry_survey"], None, province)[1],
            "operator": store.create_key("provincial office", ["registry_approve", "lookup"], None, province)[1],
            "elsewhere": store.create_key("another office", ["registry_approve"], None, other)[1],
            "national": store.create_key("head office", ["registry_approve"], None)[1]}
    store.close()
    app = create_app(editable, svc, key_cache_ttl=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, keys


def _province_code(location: Path | str, name: str) -> str:
    from jinef.write.edit.editor import RegistryEditor

    with RegistryEditor.open(location) as e, e.store.transaction() as s:
        return str(s.rows("SELECT code FROM provinces WHERE name = ?", [name])[0][0])


def test_request_survey_approve_allocates_postcodes_and_keeps_every_step(
        editable: Path | str, office: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = office
    a = city_building(editable)
    h = {k: {"X-API-Key": v} for k, v in keys.items()}
    body = {**parts_beside(a, building="سپهر"), "units": [{"floor": 1, "unit": "1"}], "applicant": "builder"}
    r = c.post("/v1/building-requests", json=body, headers=h["portal"])
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["status"] == "requested"
    early = c.post(f"/v1/building-requests/{rid}/approve", json={}, headers=h["operator"])
    assert early.status_code == 409 and early.json()["error"]["code"] == "wrong_state"
    assert a.lat is not None and a.lon is not None
    survey = {"lat": a.lat + 0.0002, "lon": a.lon, "plate": "12", "photo_ref": "IMG-0042",
              "units": [{"floor": 1, "unit": "1"}, {"floor": 2, "unit": "2", "usage": "تجاری"}]}
    s = c.post(f"/v1/building-requests/{rid}/survey", json=survey, headers=h["agent"])
    assert s.status_code == 200 and s.json()["status"] == "surveyed", s.text
    assert c.post(f"/v1/building-requests/{rid}/approve", json={}, headers=h["elsewhere"]).status_code == 403
    national = c.post(f"/v1/building-requests/{rid}/approve", json={}, headers=h["national"])
    assert national.status_code == 403 and national.json()["error"]["code"] == "not_province_bound"
    assert c.post(f"/v1/building-requests/{rid}/approve", json={}, headers=h["portal"]).status_code == 403
    ok = c.post(f"/v1/building-requests/{rid}/approve", json={"reason": "ok"}, headers=h["operator"])
    assert ok.status_code == 200, ok.text
    done = ok.json()
    assert done["status"] == "approved" and len(done["postcodes"]) == 2 and all(map(is_valid, done["postcodes"]))
    assert [st["step"] for st in done["steps"]] == ["requested", "surveyed", "approved"]
    assert [st["org"] for st in done["steps"]] == ["e-gov portal", "field team", "provincial office"]
    # The surveyed facts are what was registered, and the new postcodes answer at once on this worker.
    unit = c.get(f"/v1/postcodes/{done['postcodes'][1]}", headers=h["operator"]).json()
    assert unit["address"]["plate"] == "12" and unit["address"]["usage"] == "commercial"
    assert unit["location"]["lat"] == pytest.approx(a.lat + 0.0002)
    again = c.post(f"/v1/building-requests/{rid}/reject", json={"reason": "late"}, headers=h["operator"])
    assert again.status_code == 409
    queue = c.get("/v1/building-requests", params={"status": "approved"}, headers=h["operator"]).json()
    assert [q["id"] for q in queue["requests"]] == [rid]
    assert c.get("/v1/building-requests", headers=h["elsewhere"]).json()["requests"] == []


def test_a_request_can_be_rejected_and_bad_requests_name_the_field(
        editable: Path | str, office: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = office
    a = city_building(editable)
    h = {k: {"X-API-Key": v} for k, v in keys.items()}
    r = c.post("/v1/building-requests", json={**parts_beside(a), "units": [{"unit": "1"}], "applicant": "citizen"},
               headers=h["portal"])
    rid = r.json()["id"]
    no_reason = c.post(f"/v1/building-requests/{rid}/reject", json={}, headers=h["operator"])
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "reason"
    rejected = c.post(f"/v1/building-requests/{rid}/reject", json={"reason": "no permit"}, headers=h["operator"])
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["steps"][-1]["note"] == "no permit"
    bad = c.post("/v1/building-requests", json={**parts_beside(a, county="ناکجا"), "units": [{"unit": "1"}]},
                 headers=h["portal"])
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "county"
    # Asked in Persian, the same refusal says it in Persian (its code and field unchanged).
    bad_fa = c.post("/v1/building-requests", json={**parts_beside(a, county="ناکجا"), "units": [{"unit": "1"}]},
                    headers={**h["portal"], "Accept-Language": "fa"}).json()["error"]
    assert (bad_fa["code"], bad_fa["field"]) == (bad.json()["error"]["code"], "county")
    assert bad_fa["message"] == bad.json()["error"]["message_fa"] and bad_fa["message"].startswith("شهرستان «ناکجا»")
    assert c.get("/v1/building-requests/999999", headers=h["operator"]).status_code == 404
    missing = c.get("/v1/building-requests/999999", headers={**h["operator"], "Accept-Language": "fa"})
    assert missing.json()["error"]["message"] == "درخواست ۹۹۹۹۹۹ در ثبت نیست"
