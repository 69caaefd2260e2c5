"""Batch quotas and hostile JSON against the real server (cases 3 and 4)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.security.conftest import Postcodes, Server, people

RATE = 5.0  # items per second for the metered organisations


def _within_quota(items: int, elapsed: float, batch: int) -> bool:
    """The first batch is taken on credit from the full bucket; beyond it, only what the rate earned meanwhile."""
    return batch <= items <= batch + RATE * elapsed + RATE


def _refusals_say_when(refused: list[httpx.Response]) -> None:
    assert refused, "no batch was refused"
    for r in refused:
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_case03_rest_batch_lookups_are_charged_per_postcode(server: Server, postcodes: Postcodes) -> None:
    key = server.key("sec3-rest", ("lookup",), RATE)
    batch = postcodes.lookups
    answered, refused = 0, []
    t0 = time.monotonic()
    with server.client(key) as c:
        for _ in range(20):
            r = c.post("/v1/postcodes/lookup", json={"postcodes": batch})
            if r.status_code == 200:
                answered += len(r.json()["results"])
            else:
                refused.append(r)
    elapsed = time.monotonic() - t0
    assert _within_quota(answered, elapsed, len(batch)), (answered, elapsed)
    _refusals_say_when(refused)
    # Paying for 1,000 items at 5/s takes minutes, and the refusal says so.
    assert int(refused[0].headers["Retry-After"]) >= 100
    assert refused[0].json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("method", ["location", "address", "validate"])
def test_case03_gnaf_batches_are_charged_per_row(server: Server, postcodes: Postcodes, method: str) -> None:
    key = server.key(f"sec3-gnaf-{method}", ("lookup",), RATE)
    rows = [{"ClientRowID": i, "PostCode": p} for i, p in enumerate(postcodes.lookups)]
    answered, refused = 0, []
    t0 = time.monotonic()
    with server.client() as c:
        for n in range(20):
            r = c.post(f"/gnaf/postcode/{method}", json={"ClientBatchID": n, "Postcodes": rows, "Signature": key})
            if r.status_code == 200:
                answered += len(r.json()["Data"])
            else:
                assert r.json()["ResCode"] == 6 and r.json()["Data"] is None  # the GNAF envelope's rate code
                refused.append(r)
    assert _within_quota(answered, time.monotonic() - t0, len(rows)), answered
    _refusals_say_when(refused)


def test_case03_match_batches_are_charged_per_row(server: Server, postcodes: Postcodes) -> None:
    """Through a FastAPI route (no hot path): the same charge."""
    key = server.key("sec3-match", ("match",), RATE)
    (person,) = people(1)
    (place,) = postcodes.take(1)
    body = {"purpose": "banking_kyc", "items": [{"national_code": person, "postcode": place}] * 1000}
    answered, refused = 0, []
    t0 = time.monotonic()
    with server.client(key) as c:
        for _ in range(10):
            r = c.post("/v1/match/batch", json=body)
            if r.status_code == 200:
                answered += len(r.json()["results"])
            else:
                refused.append(r)
    assert _within_quota(answered, time.monotonic() - t0, 1000), answered
    _refusals_say_when(refused)


def _bodies(key: str) -> list[tuple[str, bytes, str]]:
    """(path, raw JSON body, the field the refusal must name) for each endpoint the review broke."""
    sig = key.encode()
    gnaf = b'{"ClientBatchID":1,"Postcodes":[{"ClientRowID":1,"PostCode":"%s"}],"Signature":"' + sig + b'"}'
    return [
        ("/v1/postcodes/lookup", b'{"postcodes":["1111300003","\\ud800"]}', "postcodes[1]"),
        ("/v1/postcodes/lookup", b'{"postcodes":["\\udc00\\ud800x"]}', "postcodes[0]"),
        ("/v1/postcodes/lookup", b'{"postcodes":["11113\xed\xa0\x8000003"]}', "postcodes[0]"),  # a raw surrogate
        ("/v1/postcodes/lookup", b'{"postcodes":["1111\xff300003"]}', "postcodes[0]"),  # not UTF-8 at all
        ("/v1/geocode/batch", b'{"addresses":["\\ud800 \xd8\xaa\xd9\x87\xd8\xb1\xd8\xa7\xd9\x86"]}', "addresses[0]"),
        ("/gnaf/postcode/address", gnaf % b"\\ud800", "Postcodes[0].PostCode"),
        ("/gnaf/postcode/validate", gnaf % b"\\udfff", "Postcodes[0].PostCode"),
        ("/v1/match", b'{"national_code":"\\ud83d","postcode":"1111300003","purpose":"banking_kyc"}',
         "national_code"),
    ]


def test_case04_text_that_is_not_unicode_is_a_4xx_naming_the_field(server: Server) -> None:
    key = server.key("sec4-client", ("lookup", "geocode", "match"))
    with server.client(key) as c:
        for path, body, field in _bodies(key):
            r = c.post(path, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 422, (path, body, r.status_code, r.text)
            if path.startswith("/gnaf/"):
                assert r.json()["ResCode"] == 1 and field in r.json()["ResMsg"], r.text
            else:
                err = r.json()["error"]
                assert err["code"] == "invalid_text" and err["field"] == field, r.text
                assert err["rule"] in ("lone_surrogate", "invalid_utf8")
        # A well-formed pair of surrogates is a character like any other: answered, not refused.
        ok = c.post("/v1/postcodes/lookup", content=b'{"postcodes":["\\ud83d\\ude00"]}',
                    headers={"Content-Type": "application/json"})
        assert ok.status_code == 200 and ok.json()["invalid"] == 1


def test_case04_over_long_fields_are_a_4xx_naming_the_field(server: Server) -> None:
    key = server.key("sec4-long", ("lookup", "geocode"))
    with server.client(key) as c:
        r = c.post("/v1/postcodes/lookup", json={"postcodes": ["1111300003", "1" * 5000]})
        assert r.status_code == 422 and "postcodes.1" in r.json()["error"]["message"], r.text
        r = c.post("/gnaf/postcode/address", json={"ClientBatchID": 1, "Signature": key,
                                                  "Postcodes": [{"ClientRowID": 1, "PostCode": "2" * 5000}]})
        assert r.status_code == 422 and "PostCode" in r.json()["ResMsg"], r.text
        r = c.post("/v1/geocode/batch", json={"addresses": ["تهران " * 1000]})
        assert r.status_code == 422 and "addresses.0" in r.json()["error"]["message"], r.text
