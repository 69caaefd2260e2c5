"""Error messages in the client's language through the real app: ``Accept-Language: fa`` gets Persian, anything
else English, and the machine ``code`` is the same in both."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.servicedb import open_store

FA = {"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.8"}
ABSENT = "9999999998"  # valid by the rules, in no registry the tests build
_PERSIAN = re.compile(r"[\u0600-\u06ff]")
_LATIN_LETTERS = re.compile(r"[A-Za-z]")


@pytest.fixture(scope="module")
def app(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One app for the module and keys: every scope used here, metrics only, and a one-a-second quota."""
    service_db = tmp_path_factory.mktemp("messages") / "svc.sqlite"
    store = open_store(service_db)
    keys = {"all": store.create_key("bank", ["lookup", "match", "geocode"], None)[1],
            "metrics": store.create_key("watcher", ["metrics"], None)[1],
            "slow": store.create_key("small-shop", ["lookup"], 1.0)[1]}
    store.close()
    with TestClient(create_app(small_registry, service_db, key_cache_ttl=0), raise_server_exceptions=False) as c:
        yield c, keys


def both(c: TestClient, method: str, url: str, headers: dict[str, str] | None = None,
         **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
    """The same request asked in English (no header) and in Persian."""
    en = c.request(method, url, headers=headers or {}, **kwargs)
    fa = c.request(method, url, headers={**(headers or {}), **FA}, **kwargs)
    return en, fa


def error_pair(en: httpx.Response, fa: httpx.Response, status: int, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both errors, checked: same status and code, an English and a Persian message."""
    assert en.status_code == fa.status_code == status, (en.text, fa.text)
    e, f = en.json()["error"], fa.json()["error"]
    assert e["code"] == f["code"] == code
    assert not _PERSIAN.search(e["message"]) and _PERSIAN.search(f["message"]), (e, f)
    return e, f


def test_postcode_errors_in_persian(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    key = {"X-API-Key": keys["all"]}
    e, f = error_pair(*both(c, "GET", "/v1/postcodes/12345", key), 422, "invalid_postcode")
    assert e["message"].startswith("invalid postcode '12345'")
    assert f["message"] == ("کد پستی «۱۲۳۴۵» نادرست است: کد پستی باید دقیقاً ۱۰ رقم باشد؛ "
                            "در پنج رقم نخست کد پستی هرگز ۰ یا ۲ نمی‌آید")
    assert e["reasons"] == f["reasons"] == ["wrong_length", "zero_or_two_in_first_five"]
    assert f["messages"] == ["کد پستی باید دقیقاً ۱۰ رقم باشد", "در پنج رقم نخست کد پستی هرگز ۰ یا ۲ نمی‌آید"]
    e, f = error_pair(*both(c, "GET", f"/v1/postcodes/{ABSENT}", key), 404, "not_found")
    assert f["message"] == "کد پستی ۹۹۹۹۹۹۹۹۹۸ در ثبت نشانی‌ها نیست" and ABSENT in e["message"]
    # The batch (the fast lane) and the validation endpoint answer each item in the asked language.
    en, fa = both(c, "POST", "/v1/postcodes/lookup", key, json={"postcodes": ["12345", ABSENT]})
    assert en.status_code == fa.status_code == 200
    items = fa.json()["results"]
    assert items[0]["error"]["code"] == "invalid_postcode" and items[0]["error"]["message"].startswith("کد پستی باید")
    assert items[1]["error"] == {"code": "not_found", "message": "این کد پستی در ثبت نشانی‌ها نیست", "reasons": None}
    assert en.json()["results"][1]["error"]["message"] == "no unit has this postcode"
    en, fa = both(c, "GET", "/v1/postcodes/13457/validate", key)
    assert en.json()["messages"] == ["a postcode has exactly 10 digits"]
    assert fa.json()["messages"] == ["کد پستی باید دقیقاً ۱۰ رقم باشد"]


def test_key_scope_and_quota_errors_in_persian(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    _, f = error_pair(*both(c, "GET", f"/v1/postcodes/{ABSENT}"), 401, "missing_key")
    assert f["message"].startswith("کلید دسترسی لازم است")
    _, f = error_pair(*both(c, "GET", f"/v1/postcodes/{ABSENT}", {"X-API-Key": "nope"}), 401, "invalid_key")
    assert f["message"] == "کلید دسترسی نامعتبر است یا باطل شده است"
    e, f = error_pair(*both(c, "GET", f"/v1/postcodes/{ABSENT}", {"X-API-Key": keys["metrics"]}), 403, "scope_denied")
    assert "lookup" in e["message"] and "lookup" in f["message"]
    refused = None
    for _ in range(10):  # a burst of one a second: the second or third call is over the quota
        r = c.get(f"/v1/postcodes/{ABSENT}", headers={"X-API-Key": keys["slow"], **FA})
        if r.status_code == 429:
            refused = r.json()["error"]
            break
    assert refused is not None and refused["code"] == "rate_limited"
    assert re.fullmatch(r"سهمیهٔ درخواست‌های سازمان «small-shop» تمام شده است؛ [۰-۹]+ ثانیهٔ دیگر دوباره بفرستید",
                        refused["message"]), refused


def test_request_validation_errors_in_persian(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    key = {"X-API-Key": keys["all"]}
    e, f = error_pair(*both(c, "POST", "/v1/postcodes/lookup", key, json={"postcodes": ["1" * 40], "extra": 1}),
                      422, "invalid_request")
    assert "body.extra: extra inputs are not permitted" in e["message"]
    assert "body.postcodes.0: باید حداکثر ۳۲ نویسه داشته باشد" in f["message"]
    assert "body.extra: این فیلد در قالب درخواست نیست" in f["message"]
    assert [d["type"] for d in f["details"]] == [d["type"] for d in e["details"]]
    assert {d["msg"] for d in f["details"]} == {"باید حداکثر ۳۲ نویسه داشته باشد", "این فیلد در قالب درخواست نیست"}
    _, f = error_pair(*both(c, "POST", "/v1/postcodes/lookup", {**key, "Content-Type": "application/json"},
                            content=b"{nope"), 400, "malformed_json")
    assert f["message"] == "بدنهٔ درخواست JSON درستی نیست"
    _, f = error_pair(*both(c, "POST", "/v1/postcodes/lookup", key, json={"postcodes": ["1"] * 1001}),
                      422, "batch_too_long")
    assert f["message"] == "هر دسته حداکثر ۱۰۰۰ قلم دارد"
    _, f = error_pair(*both(c, "GET", "/v1/geocode", key, params={"q": "تهران", "near_lat": "35"}),
                      422, "invalid_request")
    assert f["message"] == "near_lat و near_lon باید با هم فرستاده شوند"
    _, f = error_pair(*both(c, "GET", "/v1/no-such-thing", key), 404, "no_such_endpoint")
    assert not _LATIN_LETTERS.search(f["message"])


def test_verification_hub_errors_in_persian(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    key = {"X-API-Key": keys["all"]}
    ask = {"national_code": "123", "postcode": ABSENT, "purpose": "banking_kyc"}
    e, f = error_pair(*both(c, "POST", "/v1/match", key, json=ask), 422, "invalid_national_code")
    assert e["message"] == "invalid national code: a national code has exactly 10 digits"
    assert f["message"] == "کد ملی نادرست است: کد ملی باید دقیقاً ۱۰ رقم باشد"
    assert e["reasons"] == f["reasons"] == ["wrong_length"]
    batch = {"purpose": "gossip", "items": [{"row_id": 1, "national_code": "1", "postcode": "1"}]}
    _, f = error_pair(*both(c, "POST", "/v1/match/batch", key, json=batch), 422, "invalid_argument")
    assert f["message"].startswith("purpose باید یکی از این‌ها باشد: ")


def test_gnaf_envelope_in_persian(app: tuple[TestClient, dict[str, str]]) -> None:
    c, keys = app
    body = {"ClientBatchID": 1, "Signature": keys["all"],
            "Postcodes": [{"ClientRowID": 1, "PostCode": "13457"}, {"ClientRowID": 2, "PostCode": ABSENT}]}
    en, fa = both(c, "POST", "/gnaf/postcode/address", json=body)
    assert en.status_code == fa.status_code == 200
    assert en.json()["ResMsg"] == "OK" and fa.json()["ResMsg"] == "انجام شد"
    rows = fa.json()["Data"]
    assert rows[0]["Errors"] == [{"ErrorCode": 11, "ErrorMessage": "wrong_length: کد پستی باید دقیقاً ۱۰ رقم باشد"}]
    assert rows[1]["Errors"] == [{"ErrorCode": 12, "ErrorMessage": "کد پستی یافت نشد"}]
    en, fa = both(c, "POST", "/gnaf/postcode/address", json={**body, "Signature": "nope"})
    assert en.status_code == fa.status_code == 401
    assert fa.json()["ResCode"] == en.json()["ResCode"] == 4
    assert fa.json()["ResMsg"] == "کلید دسترسی نامعتبر است یا باطل شده است"
