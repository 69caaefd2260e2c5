"""The postcode lookups' hot path answers exactly as their FastAPI routes: status, headers and body."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from tests.api.conftest import KeyMaker

Call = tuple[str, str, dict[str, Any]]


def _calls(key: str, geo_key: str, codes: list[str]) -> list[Call]:
    h = {"X-API-Key": key}
    persian = codes[0].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return [
        ("GET", f"/v1/postcodes/{codes[0]}", {"headers": h}),
        ("GET", f"/v1/postcodes/{persian}", {"headers": h}),
        ("GET", f"/v1/postcodes/{codes[1][:5]}-{codes[1][5:]}", {"headers": h}),
        ("GET", "/v1/postcodes/9999999998", {"headers": h}),  # unknown: 404
        ("GET", "/v1/postcodes/12%2034", {"headers": h}),  # invalid: 422 naming the rules
        ("GET", "/v1/postcodes/lookup", {"headers": h}),  # a GET of the batch path is a (bad) postcode
        ("GET", f"/v1/postcodes/{codes[0]}", {}),  # no key: 401
        ("GET", f"/v1/postcodes/{codes[0]}", {"headers": {"X-API-Key": "jk_nope"}}),  # bad key: 401
        ("GET", f"/v1/postcodes/{codes[0]}", {"headers": {"X-API-Key": geo_key}}),  # no lookup scope: 403
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": {"postcodes": [*codes[:40], "12", "9999999998"]}}),
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": {"postcodes": [persian]}}),
        ("POST", "/v1/postcodes/lookup", {"json": {"postcodes": codes[:3]}}),  # no key
        ("POST", "/v1/postcodes/lookup", {"headers": {"X-API-Key": geo_key}, "json": {"postcodes": codes[:3]}}),
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": {"postcodes": []}}),  # too short
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": {"postcodes": codes[:1] * 1001}}),  # too long
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": {"postcodes": [1234567891]}}),  # not a string
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": {"postcodes": codes[:2], "extra": 1}}),
        ("POST", "/v1/postcodes/lookup", {"headers": h, "json": ["not", "an", "object"]}),
        ("POST", "/v1/postcodes/lookup", {"headers": {**h, "Content-Type": "application/json"},
                                          "content": b'{"postcodes": ["12'}),  # malformed JSON
        ("POST", "/v1/postcodes/lookup", {"headers": {**h, "Content-Type": "text/plain"},
                                          "content": json.dumps({"postcodes": codes[:2]}).encode()}),
        ("POST", "/v1/postcodes/lookup", {"headers": {"X-API-Key": "jk_nope", "Content-Type": "application/json"},
                                          "content": b"{"}),  # bad key and bad body: as FastAPI orders them
    ]


def _without_ids(body: bytes) -> Any:
    data = json.loads(body)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        data["error"].pop("request_id", None)
    return data


@pytest.fixture
def routed(small_registry: Path, service_db: Path) -> Iterator[TestClient]:
    """The app of the ``client`` fixture with the hot paths off: every request through its FastAPI route."""
    app = create_app(small_registry, service_db, key_cache_ttl=0, hot=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _audit(client: TestClient, service_db: Path, after: int) -> list[tuple[Any, ...]]:
    client.app.state.service.audit.flush()  # type: ignore[attr-defined]
    with sqlite3.connect(service_db) as conn:
        return conn.execute("SELECT org, method, endpoint, items, status, outcome FROM audit WHERE id > ? "
                            "ORDER BY id", (after,)).fetchall()


def test_hot_path_answers_and_audits_as_the_routes(client: TestClient, routed: TestClient, make_key: KeyMaker,
                                                   service_db: Path, sample_postcodes: list[str]) -> None:
    hot = client
    calls = _calls(make_key(), make_key(org="maps", scopes=("geocode",)), sample_postcodes)
    answers, records = [], []
    for app_client in (hot, routed):  # one app after the other, so each one's audit records can be told apart
        answers.append([app_client.request(method, path, **kw) for method, path, kw in calls])
        records.append(_audit(app_client, service_db, sum(len(r) for r in records)))
    for (method, path, _), a, b in zip(calls, *answers, strict=True):
        assert (a.status_code, _without_ids(a.content)) == (b.status_code, _without_ids(b.content)), (method, path)
        assert a.headers["content-type"] == b.headers["content-type"]
        assert a.headers.get("www-authenticate") == b.headers.get("www-authenticate")
        assert a.headers["x-request-id"] != b.headers["x-request-id"]
    # The cases cover answers and every refusal, not only successes.
    assert {200, 400, 401, 403, 404, 422} <= {a.status_code for a in answers[0]}
    # Each call has one audit record, the same whichever path answered it.
    assert len(records[0]) == len(calls)
    assert records[0] == records[1]


def test_hot_path_audits_and_rate_limits(client: TestClient, make_key: KeyMaker,
                                         service_db: Path, sample_postcodes: list[str]) -> None:
    hot = client
    key = make_key(org="small", rate=2)
    codes = [hot.get(f"/v1/postcodes/{c}", headers={"X-API-Key": key}).status_code for c in sample_postcodes[:6]]
    assert codes[0] == 200 and 429 in codes
    limited = hot.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"X-API-Key": key})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    rows = _audit(hot, service_db, 0)
    assert len(rows) == 7 and {r[2] for r in rows} == {"/v1/postcodes/{postcode}"}
    assert sorted({r[4] for r in rows}) == [200, 429]


def test_both_paths_charge_a_batch_per_postcode(client: TestClient, routed: TestClient, make_key: KeyMaker,
                                                sample_postcodes: list[str]) -> None:
    """A batch costs its items on the hot path and through the route alike (one take of N tokens each)."""
    seen = []
    for app_client, org in ((client, "hot-metered"), (routed, "routed-metered")):
        h = {"X-API-Key": make_key(org=org, rate=5)}
        first = app_client.post("/v1/postcodes/lookup", json={"postcodes": sample_postcodes[:100]}, headers=h)
        second = app_client.post("/v1/postcodes/lookup", json={"postcodes": sample_postcodes[:2]}, headers=h)
        seen.append((first.status_code, second.status_code, int(second.headers.get("Retry-After", 0))))
    (hot_first, hot_second, hot_retry), (route_first, route_second, route_retry) = seen
    assert (hot_first, hot_second) == (route_first, route_second) == (200, 429), seen
    # 100 items at 5/s: the bucket is about 95 tokens in debt, about 20 s to pay back, on either path.
    assert 15 <= hot_retry <= 21 and abs(hot_retry - route_retry) <= 1, seen
