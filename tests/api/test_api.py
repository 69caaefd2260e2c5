"""The HTTP service through the real app: lookups, keys, scopes, quotas, audit, error paths, GNAF envelope."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.model.digits import to_persian_digits
from jinef.read.registry.registry import Registry
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from tests.api.conftest import KeyMaker
from tests.conftest import build_registry


def test_lookup_one_any_digit_form(client: TestClient, make_key: KeyMaker, small_registry: Path,
                                   sample_postcodes: list[str]) -> None:
    key = make_key()
    code = sample_postcodes[0]
    with Registry.open(small_registry) as reg:
        expected = reg.lookup(code)
    assert expected is not None
    for form in (code, f"{code[:5]}-{code[5:]}", to_persian_digits(code)):
        r = client.get(f"/v1/postcodes/{form}", headers={"X-API-Key": key})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["postcode"] == code
        assert body["standard_address"] == expected.standard_address
        assert body["address"]["last_thoroughfare"] == expected.last_thoroughfare
        assert body["location"]["lat"] == expected.lat
        assert len(r.headers["X-Request-ID"]) == 32


def test_unknown_is_404_and_invalid_is_422_with_reasons(client: TestClient, make_key: KeyMaker) -> None:
    key = make_key()
    r = client.get("/v1/postcodes/9999999998", headers={"X-API-Key": key})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = client.get("/v1/postcodes/1234", headers={"X-API-Key": key})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_postcode"
    assert set(err["reasons"]) == {"wrong_length", "zero_or_two_in_first_five"}
    assert err["request_id"] == r.headers["X-Request-ID"]


def test_validate_needs_no_existence(client: TestClient, make_key: KeyMaker) -> None:
    key = make_key()
    ok = client.get("/v1/postcodes/9999999998/validate", headers={"X-API-Key": key}).json()
    assert ok["valid"] is True and ok["postcode"] == "9999999998"
    bad = client.get("/v1/postcodes/1111111111/validate", headers={"X-API-Key": key}).json()
    assert bad["valid"] is False and bad["reasons"] == ["one_digit_repeated"]


def test_batch_lookup_in_order_with_item_errors(client: TestClient, make_key: KeyMaker,
                                                sample_postcodes: list[str]) -> None:
    key = make_key()
    inputs = [sample_postcodes[1], "12", "9999999998", sample_postcodes[0]]
    r = client.post("/v1/postcodes/lookup", json={"postcodes": inputs}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["input"] for i in body["results"]] == inputs
    assert body["results"][0]["result"]["postcode"] == sample_postcodes[1]
    assert body["results"][1]["error"]["code"] == "invalid_postcode"
    assert body["results"][2]["error"]["code"] == "not_found"
    assert body["results"][3]["result"]["postcode"] == sample_postcodes[0]
    assert (body["found"], body["not_found"], body["invalid"]) == (2, 1, 1)


def test_a_rebuild_is_answered_without_a_restart(tmp_path: Path, service_db: Path, make_key: KeyMaker,
                                                 divisions: Divisions, boundaries: Boundaries) -> None:
    """A new registry published under a running service is answered from its new read image, between requests;
    the answers of the old one never mix in."""
    db = tmp_path / "live.sqlite"
    build_registry(db, 600, 1, divisions, boundaries)
    old = {a.postcode for a in Registry.open(db).addresses()}
    app = create_app(db, service_db, key_cache_ttl=0)
    key = make_key()
    with TestClient(app, raise_server_exceptions=False) as client:
        state = app.state.service
        state.registry.check_every = 0.0
        first = sorted(old)[0]
        assert client.get(f"/v1/postcodes/{first}", headers={"X-API-Key": key}).status_code == 200
        build_registry(db, 600, 2, divisions, boundaries)  # another seed: other postcodes
        new = {a.postcode for a in Registry.open(db).addresses()}
        gone, added = sorted(old - new)[0], sorted(new - old)[0]
        deadline = time.time() + 20
        while client.get(f"/v1/postcodes/{added}", headers={"X-API-Key": key}).status_code != 200:
            assert time.time() < deadline, "the new image was never switched to"
            time.sleep(0.05)
        assert client.get(f"/v1/postcodes/{gone}", headers={"X-API-Key": key}).status_code == 404
        health = client.get("/healthz").json()
        assert health["generation"] == Registry.open(db).generation


def test_batch_limit_and_body_limit(client: TestClient, make_key: KeyMaker) -> None:
    key = make_key()
    r = client.post("/v1/postcodes/lookup", json={"postcodes": ["1111300003"] * 1001}, headers={"X-API-Key": key})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "batch_too_long"
    assert "1000" in r.json()["error"]["message"]
    big = json.dumps({"postcodes": ["x" * 1000] * 300})
    r = client.post("/v1/postcodes/lookup", content=big, headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


def test_malformed_json_unknown_fields_wrong_types(client: TestClient, make_key: KeyMaker) -> None:
    h = {"X-API-Key": make_key(), "Content-Type": "application/json"}
    r = client.post("/v1/postcodes/lookup", content=b'{"postcodes": [', headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = client.post("/v1/postcodes/lookup", json={"postcodes": ["1111300003"], "extra": 1}, headers=h)
    assert r.status_code == 422 and "extra" in r.json()["error"]["message"]
    r = client.post("/v1/postcodes/lookup", json={"postcodes": [1111300003]}, headers=h)
    assert r.status_code == 422
    r = client.post("/v1/postcodes/lookup", json=["1111300003"], headers=h)
    assert r.status_code == 422
    r = client.post("/v1/postcodes/lookup", content=b"\xff\xfe", headers=h)
    assert r.status_code == 400
    r = client.get("/v1/nothing", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_such_endpoint"
    for resp in (r,):
        assert "Traceback" not in resp.text


def test_keys_401_403_and_revocation(client: TestClient, make_key: KeyMaker, service_db: Path) -> None:
    assert client.get("/v1/postcodes/1111300003").status_code == 401
    r = client.get("/v1/postcodes/1111300003", headers={"X-API-Key": "jnf_not-a-key"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"
    geo_only = make_key(org="maps", scopes=("geocode",))
    r = client.get("/v1/postcodes/1111300003/validate", headers={"X-API-Key": geo_only})
    assert r.status_code == 403 and r.json()["error"]["code"] == "scope_denied"
    assert client.get("/metrics", headers={"X-API-Key": geo_only}).status_code == 403
    key = make_key(org="telco")
    assert client.get("/v1/postcodes/1111300003/validate", headers={"X-API-Key": key}).status_code == 200
    store = open_store(service_db)
    (info,) = [k for k in store.list_keys() if k.org == "telco"]
    assert store.revoke_key(info.prefix) == 1
    store.close()
    assert client.get("/v1/postcodes/1111300003/validate", headers={"X-API-Key": key}).status_code == 401
    health = client.get("/healthz")  # the only endpoint without a key
    assert health.status_code == 200 and set(health.json()["indexes"]) == {"addresses", "reverse", "autocomplete",
                                                                           "geocoder"}


def test_keys_are_stored_hashed(make_key: KeyMaker, service_db: Path) -> None:
    key = make_key()
    raw = service_db.read_bytes() + (service_db.with_name(service_db.name + "-wal").read_bytes()
                                     if service_db.with_name(service_db.name + "-wal").exists() else b"")
    assert key.encode() not in raw


def test_quota_429_with_retry_after(client: TestClient, make_key: KeyMaker) -> None:
    key = make_key(org="small-shop", rate=3.0)
    codes = [client.get("/v1/postcodes/1111300003/validate", headers={"X-API-Key": key}) for _ in range(10)]
    statuses = [r.status_code for r in codes]
    assert statuses.count(200) in (3, 4), statuses  # a burst of 3, maybe one refill
    limited = [r for r in codes if r.status_code == 429]
    assert limited and int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limited"


def test_audit_every_call_and_metrics(small_registry: Path, service_db: Path, make_key: KeyMaker,
                                      sample_postcodes: list[str]) -> None:
    from jinef.api.app import create_app

    key = make_key(org="insurer")
    app = create_app(small_registry, service_db)
    ids = []
    with TestClient(app) as c:
        for code in sample_postcodes[:50]:
            ids.append(c.get(f"/v1/postcodes/{code}", headers={"X-API-Key": key}).headers["X-Request-ID"])
        r = c.post("/v1/postcodes/lookup", json={"postcodes": sample_postcodes[:100]}, headers={"X-API-Key": key})
        ids.append(r.headers["X-Request-ID"])
        ids.append(c.get("/v1/postcodes/12", headers={"X-API-Key": key}).headers["X-Request-ID"])
        text = c.get("/metrics", headers={"X-API-Key": key}).text
    # The metrics call itself is audited after it answers; the 52 calls before it are counted.
    assert 'jinef_http_requests_total{endpoint="/v1/postcodes/{postcode}",org="insurer",status="200"} 50' in text
    assert 'jinef_http_errors_total{endpoint="/v1/postcodes/{postcode}",org="insurer",status="422"} 1' in text
    assert 'jinef_http_items_total{endpoint="/v1/postcodes/lookup",org="insurer"} 100' in text
    assert 'jinef_http_request_duration_seconds_bucket{endpoint="/v1/postcodes/lookup",org="insurer",le="+Inf"} 1' \
        in text
    store = open_store(service_db)
    records = store.tail_audit(1000, org="insurer")
    store.close()
    assert len(records) == 53  # flushed on shutdown: nothing lost
    by_id = {r.request_id: r for r in records}
    assert set(ids) <= set(by_id)
    batch = by_id[ids[50]]
    assert (batch.endpoint, batch.items, batch.status) == ("/v1/postcodes/lookup", 100, 200)
    assert by_id[ids[51]].outcome == "invalid"


def test_gnaf_client_request_as_is(client: TestClient, make_key: KeyMaker, small_registry: Path,
                                   sample_postcodes: list[str]) -> None:
    key = make_key(org="gnaf-client")
    code = sample_postcodes[3]
    # Exactly what a GNAF client sends: the raw JSON text, key in Signature.
    raw = ('{"ClientBatchID": 4711, "Postcodes": [{"ClientRowID": 1, "PostCode": "CODE"}, '
           '{"ClientRowID": 2, "PostCode": "1234"}, {"ClientRowID": 3, "PostCode": "9999999998"}], '
           '"Signature": "KEY"}').replace("CODE", code).replace("KEY", key)
    r = client.post("/gnaf/postcode/address", content=raw.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ResCode"] == 0
    ok, bad, missing = body["Data"]
    with Registry.open(small_registry) as reg:
        a = reg.lookup(code)
    assert a is not None
    assert ok["ClientRowID"] == 1 and ok["Succ"] is True and ok["Errors"] is None
    res = ok["Result"]
    assert set(res) == {"TraceID", "ErrorCode", "Province", "TownShip", "Zone", "Village", "LocalityType",
                        "LocalityName", "LocalityCode", "SubLocality", "Street", "Street2", "HouseNumber", "Floor",
                        "SideFloor", "BuildingName", "Description", "PostCode"}
    assert (res["Province"], res["TownShip"], res["Street"], res["Street2"], res["HouseNumber"], res["PostCode"]) == (
        a.province, a.county, a.last_thoroughfare, a.prev_thoroughfare, a.plate, code)
    # A bad row fails alone.
    assert bad["Succ"] is False and bad["Result"] is None and bad["Errors"][0]["ErrorCode"] == 11
    assert missing["Succ"] is False and missing["Errors"][0]["ErrorCode"] == 12

    env = {"ClientBatchID": 1, "Postcodes": [{"ClientRowID": 9, "PostCode": code}], "Signature": key}
    s = client.post("/gnaf/postcode/address-string", json=env).json()
    assert s["Data"][0]["Result"]["Value"] == a.standard_address
    loc = client.post("/gnaf/postcode/location", json=env).json()
    assert (loc["Data"][0]["Result"]["Lat"], loc["Data"][0]["Result"]["Lon"]) == (a.lat, a.lon)
    v = client.post("/gnaf/postcode/validate", json={**env, "Postcodes": [{"ClientRowID": 1, "PostCode": "0000"}]})
    row = v.json()["Data"][0]
    assert row["Succ"] is False and row["Result"]["IsValid"] is False


def test_gnaf_bad_envelope_fails_whole(client: TestClient, make_key: KeyMaker) -> None:
    key = make_key()
    url = "/gnaf/postcode/address"
    row = {"ClientRowID": 1, "PostCode": "1111300003"}
    cases = [
        ({"ClientBatchID": 1, "Postcodes": [row], "Signature": "wrong"}, 401, 4),
        ({"ClientBatchID": "1", "Postcodes": [row], "Signature": key}, 422, 1),
        ({"ClientBatchID": 1, "Postcodes": [row], "Signature": key, "Extra": True}, 422, 1),
        ({"ClientBatchID": 1, "Postcodes": [{**row, "Bad": 1}], "Signature": key}, 422, 1),
        ({"ClientBatchID": 1, "Postcodes": [row] * 1001, "Signature": key}, 422, 2),
        ({"Postcodes": [row], "Signature": key}, 422, 1),
    ]
    for body, status, res_code in cases:
        r = client.post(url, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["ResCode"] == res_code and r.json()["Data"] is None
    r = client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["ResCode"] == 1
    no_scope = make_key(org="x", scopes=("geocode",))
    r = client.post(url, json={"ClientBatchID": 1, "Postcodes": [row], "Signature": no_scope})
    assert r.status_code == 403 and r.json()["ResCode"] == 5


def test_structured_address_has_exactly_the_schema_fields(client: TestClient, make_key: KeyMaker,
                                                          sample_postcodes: list[str]) -> None:
    from jinef.api.schemas import StructuredAddress

    body = client.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"X-API-Key": make_key()}).json()
    assert list(body["address"]) == list(StructuredAddress.model_fields)


def test_an_answer_leaves_only_once_its_call_is_recorded(client: TestClient, make_key: KeyMaker, service_db: Path,
                                                         sample_postcodes: list[str]) -> None:
    key = make_key(org="recorded")
    rid = client.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"X-API-Key": key}).headers["X-Request-ID"]
    store = open_store(service_db)  # no flush, no wait: the record is there already
    assert rid in {r.request_id for r in store.tail_audit(10, org="recorded")}
    store.close()


def test_a_call_that_cannot_be_recorded_is_not_answered(client: TestClient, make_key: KeyMaker,
                                                        sample_postcodes: list[str]) -> None:
    """With the audit database failing, a lookup gets a 503 naming the reason, not its address."""
    import sqlite3

    key = make_key(org="unrecorded")
    state = client.app.state.service  # type: ignore[attr-defined]

    def failing(records: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    state.audit.store.write_audit, real = failing, state.audit.store.write_audit
    state.audit.retries = 1
    try:
        r = client.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"X-API-Key": key})
    finally:
        state.audit.store.write_audit = real
    assert r.status_code == 503 and r.json()["error"]["code"] == "audit_unavailable"
    assert "standard_address" not in r.text and r.headers["X-Request-ID"]
    assert client.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"X-API-Key": key}).status_code == 200
