"""The access log (one JSON line per request, nothing personal or secret) and CORS (off unless origins are named),
both set the way an operator sets them: through the settings the service's workers read."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jinef.api.access_log import AccessLog
from jinef.api.app import app_from_env
from jinef.api.servicedb import AuditRecord, open_store
from jinef.common.settings import settings
from tests.api.conftest import KeyMaker

PORTAL = "https://portal.example.ir"
PERSON = "4242424248"  # a national code that passes the checksum
TYPED = "تهران خیابان ارغوان پلاک ۴"


@pytest.fixture
def configured(small_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient,
                                                                                                         Path, str]]:
    """The app as a worker makes it from the settings, with an access log file and one allowed origin:
    (client, log file, key)."""
    log = tmp_path / "logs" / "access.jsonl"
    log.parent.mkdir()
    service_db = tmp_path / "svc.sqlite"
    store = open_store(service_db)
    key = store.create_key("bank-melli", ["lookup", "geocode", "match"], None)[1]
    store.close()
    for name, value in {"JINEF_DB": str(small_registry), "JINEF_SERVICE_DB": str(service_db),
                        "JINEF_VERIFY_DB": str(tmp_path / "verify.sqlite"), "JINEF_ACCESS_LOG": str(log),
                        "JINEF_CORS_ORIGINS": f"{PORTAL}, https://other.example.ir"}.items():
        monkeypatch.setenv(name, value)
    with TestClient(app_from_env(), raise_server_exceptions=False) as client:
        yield client, log, key


def test_access_log_one_json_line_per_request_with_nothing_personal(
        configured: tuple[TestClient, Path, str], sample_postcodes: list[str]) -> None:
    client, log, key = configured
    code = sample_postcodes[0]
    h = {"X-API-Key": key}
    answers = [
        client.get(f"/v1/postcodes/{code}", headers=h),  # the fast lane
        client.get("/v1/geocode", params={"q": TYPED}, headers=h),
        client.post("/v1/match", json={"national_code": PERSON, "postcode": code, "purpose": "banking_kyc"},
                    headers=h),
        client.get(f"/v1/postcodes/{code}"),  # no key: 401, no organisation
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 401]
    client.__exit__(None, None, None)  # stop the worker: the log is closed
    text = log.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(x["method"], x["path"], x["status"], x["org"]) for x in lines] == [
        ("GET", "/v1/postcodes/{postcode}", 200, "bank-melli"), ("GET", "/v1/geocode", 200, "bank-melli"),
        ("POST", "/v1/match", 200, "bank-melli"), ("GET", "/v1/postcodes/{postcode}", 401, "-")]
    for line, answer in zip(lines, answers, strict=True):
        assert set(line) == {"time", "request_id", "worker", "method", "path", "status", "latency_ms", "org"}
        assert line["request_id"] == answer.headers["X-Request-ID"]
        assert line["worker"] == os.getpid() and line["latency_ms"] >= 0 and line["time"].endswith("+00:00")
    for secret in (key, code, PERSON, TYPED, "ارغوان", "banking_kyc"):
        assert secret not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_access_log_to_standard_error(capfd: pytest.CaptureFixture[str]) -> None:
    AccessLog("-").write(AuditRecord(ts=0.0, request_id="r1", worker=7, org="shop", key_id=3, method="GET",
                                     endpoint="/v1/reverse", items=1, status=200, outcome="ok", latency_ms=1.5))
    line = json.loads(capfd.readouterr().err)
    assert line == {"time": "1970-01-01T00:00:00.000+00:00", "request_id": "r1", "worker": 7, "method": "GET",
                    "path": "/v1/reverse", "status": 200, "latency_ms": 1.5, "org": "shop"}


def test_cors_answers_the_named_origins_only(configured: tuple[TestClient, Path, str],
                                             sample_postcodes: list[str]) -> None:
    client, _, key = configured
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key"}
    ok = client.options("/v1/postcodes/1", headers={"Origin": PORTAL, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == PORTAL
    assert "x-api-key" in ok.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in ok.headers  # the key is a header, never a cookie
    other = client.options("/v1/postcodes/1", headers={"Origin": "https://evil.example", **preflight})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    r = client.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"Origin": PORTAL, "X-API-Key": key})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PORTAL
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    # The service's own refusals carry the headers too, so the page can read why.
    refused = client.get("/v1/postcodes/1", headers={"Origin": PORTAL})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == PORTAL


def test_cors_is_off_by_default(client: TestClient, make_key: KeyMaker, sample_postcodes: list[str]) -> None:
    assert settings().cors_origins == () and settings().access_log == ""
    r = client.get(f"/v1/postcodes/{sample_postcodes[0]}", headers={"Origin": PORTAL, "X-API-Key": make_key()})
    assert r.status_code == 200
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    preflight = client.options("/v1/postcodes/1", headers={"Origin": PORTAL, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
