"""Address verification end to end through the HTTP API: real app, real SQLite files, the dev SMS outbox."""

from __future__ import annotations

import re
import shutil
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jinef.api.app import create_app
from jinef.api.servicedb import open_store
from jinef.cli.main import app as cli_app
from jinef.common.config import service_db_path, verify_db_path
from jinef.model.digits import to_latin_digits
from jinef.model.postcode import from_int
from jinef.read.verify import VerifyHub
from jinef.read.verify import national_code as ncode
from jinef.write.compile import index_registry

# National codes and mobiles whose digit runs appear nowhere in the registry or elsewhere in the data.
PEOPLE = [ncode.complete(f"{n:09d}") for n in (424242424, 313131313, 575757575, 686868686)]
MOBILES = ["09187654321", "09351112233", "09019998877", "09904445566"]
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class Clock:
    """The hub's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    """The running app, its files and one key per role."""

    client: TestClient
    registry: Path
    verify_db: Path
    clock: Clock
    postcodes: list[str]
    retired: str
    keys: dict[str, str]
    stopped: bool = False

    def stop(self) -> None:
        """Stop the app as a server would (lifespan end: audit drained, hub and stores closed)."""
        if not self.stopped:
            self.stopped = True
            self.client.__exit__(None, None, None)

    @property
    def hub(self) -> VerifyHub:
        hub = self.client.app.state.service.hub  # type: ignore[attr-defined]
        assert isinstance(hub, VerifyHub)
        return hub

    def post(self, who: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers={"X-API-Key": self.keys[who]})

    def code(self, ref: str) -> str:
        """The one-time code texted for a request or challenge (read from the dev gateway's outbox)."""
        body = self.hub.outbox(limit=1, ref=ref)[0].body
        found = re.search(r"\d{6}", to_latin_digits(body))
        assert found, body
        return found.group()

    def verify(self, person: str, mobile: str, postcode: str, role: str = "resident") -> str:
        r = self.post("portal", "/v1/verifications",
                      {"national_code": person, "mobile": mobile, "postcode": postcode, "role": role})
        assert r.status_code == 201, r.text
        rid = str(r.json()["id"])
        assert self.post("post", f"/v1/verifications/{rid}/visit", {"agent": "postman-12"}).status_code == 200
        r = self.post("post", f"/v1/verifications/{rid}/confirm", {"agent": "postman-12", "code": self.code(rid)})
        assert r.status_code == 200 and r.json()["state"] == "verified", r.text
        return rid

    def match(self, person: str, postcode: str, who: str = "bank") -> Any:
        return self.post(who, "/v1/match", {"national_code": person, "postcode": postcode, "purpose": "banking_kyc"})


@pytest.fixture
def env(small_registry: Path, tmp_path: Path) -> Iterator[Env]:
    """A copy of the small registry with the service and hub databases derived beside it."""
    reg = tmp_path / "registry.sqlite"
    shutil.copy(small_registry, reg)
    conn = sqlite3.connect(reg)
    codes = [from_int(r[0]) for r in conn.execute(
        "SELECT postcode FROM units WHERE status = 'active' ORDER BY postcode LIMIT 30")]
    # The generator retires nothing: retire one unit of the copy, so the retired-postcode refusal is always checked.
    (retired,) = conn.execute("SELECT postcode FROM units WHERE status = 'active' ORDER BY postcode DESC LIMIT 1"
                              ).fetchone()
    with conn:
        conn.execute("UPDATE units SET status = 'retired' WHERE postcode = ?", (retired,))
    conn.close()
    index_registry(reg)  # the copy's read image, with that unit retired
    store = open_store(service_db_path(reg))
    keys = {
        "portal": store.create_key("citizen-portal", ["verify_request", "citizen"], None)[1],
        "post": store.create_key("iran-post", ["field_agent"], None)[1],
        "bank": store.create_key("bank-melli", ["match"], None)[1],
        "lookup": store.create_key("shop", ["lookup"], None)[1],
    }
    store.close()
    clock = Clock()
    app = create_app(reg, key_cache_ttl=0, verify_clock=clock, dev_sms_outbox=True)
    client = TestClient(app, raise_server_exceptions=False).__enter__()
    e = Env(client, reg, verify_db_path(reg), clock, codes, from_int(retired), keys)
    try:
        yield e
    finally:
        e.stop()


def links(env: Env) -> int:
    with sqlite3.connect(env.verify_db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM verify_link").fetchone()[0])


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args), env={"JINEF_VERIFY_KEY": ""})
    return result.exit_code, result.output


def test_full_verification_then_match(env: Env) -> None:
    person, mobile, postcode = PEOPLE[0], MOBILES[0], env.postcodes[0]
    # Persian digits in, like a form filled on a phone.
    r = env.post("portal", "/v1/verifications", {"national_code": person.translate(PERSIAN), "mobile": mobile,
                                                 "postcode": postcode, "role": "resident"})
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["state"] == "code_sent" and "code" not in req and person not in r.text and mobile not in r.text
    rid = req["id"]
    r = env.client.get(f"/v1/verifications/{rid}", headers={"X-API-Key": env.keys["post"]})
    assert r.status_code == 200 and r.json()["state"] == "code_sent"
    assert env.match(person, postcode).json()["matched"] is False  # pending is not verified
    r = env.post("post", f"/v1/verifications/{rid}/visit", {"agent": "postman-12"})
    assert r.status_code == 200 and r.json()["state"] == "visited"
    # Recorded under the organisation that vouches for the agent: o<its id>.<its name>.
    assert re.fullmatch(r"o\d+\.iran-post:postman-12", r.json()["agent"])
    code = env.code(rid)
    r = env.post("post", f"/v1/verifications/{rid}/confirm", {"agent": "postman-12", "code": code})
    assert r.status_code == 200 and r.json()["state"] == "verified"
    # Replaying the code is refused and changes nothing.
    r = env.post("post", f"/v1/verifications/{rid}/confirm", {"agent": "postman-12", "code": code})
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"

    yes = env.match(person, postcode)
    assert yes.status_code == 200
    body = yes.json()
    assert body["matched"] is True and body["role"] == "resident"
    assert body["verified_since"] == env.clock.now.date().isoformat() and len(body["trace_id"]) == 32
    no = env.match(person, env.postcodes[1])
    assert no.status_code == 200 and set(no.json()) == {"matched", "trace_id"} and no.json()["matched"] is False
    assert set(env.match(PEOPLE[1], postcode).json()) == {"matched", "trace_id"}

    r = env.post("bank", "/v1/match/batch", {"purpose": "banking_kyc", "items": [
        {"row_id": 1, "national_code": person, "postcode": postcode},
        {"row_id": 2, "national_code": person, "postcode": env.postcodes[1]},
        {"row_id": 3, "national_code": "1234567890", "postcode": postcode}]})
    assert r.status_code == 200, r.text
    rows = r.json()["results"]
    assert rows[0]["result"]["matched"] is True and rows[1]["result"] == {"matched": False,
                                                                           "trace_id": rows[1]["result"]["trace_id"]}
    assert rows[2]["error"]["code"] == "invalid_national_code" and r.json()["failed"] == 1

    r = env.client.post("/gnaf/match", json={"ClientBatchID": 7, "Signature": env.keys["bank"], "Items": [
        {"ClientRowID": 10, "NationalCode": person, "PostCode": postcode},
        {"ClientRowID": 11, "NationalCode": person, "PostCode": env.postcodes[1]},
        {"ClientRowID": 12, "NationalCode": "1111111111", "PostCode": postcode}]})
    assert r.status_code == 200 and r.json()["ResCode"] == 0
    data = r.json()["Data"]
    assert data[0]["Succ"] and data[0]["Result"]["Matched"] and data[0]["Result"]["Role"] == "resident"
    assert data[1]["Result"]["Matched"] is False and data[1]["Result"]["Role"] is None
    assert not data[2]["Succ"] and data[2]["Errors"][0]["ErrorCode"] == 21

    # The citizen sees what is registered in their name.
    r = env.post("portal", "/v1/citizen/challenge", {"national_code": person, "mobile": mobile})
    assert r.status_code == 201
    ch = r.json()["challenge_id"]
    r = env.post("portal", "/v1/citizen/addresses", {"challenge_id": ch, "code": env.code(ch)})
    assert r.status_code == 200
    assert r.json() == {"addresses": [{"postcode": postcode, "role": "resident",
                                       "verified_since": env.clock.now.date().isoformat()}]}
    r = env.post("portal", "/v1/citizen/addresses", {"challenge_id": ch, "code": env.code(ch)})
    assert r.status_code == 404 and r.json()["error"]["code"] == "challenge_not_found"  # used once

    # Every call went through the service's call audit.
    env.client.app.state.service.audit.flush()  # type: ignore[attr-defined]
    store = open_store(service_db_path(env.registry))
    endpoints = [a.endpoint for a in store.tail_audit(100)]
    store.close()
    for ep in ("/v1/verifications", "/v1/verifications/{request_id}/confirm", "/v1/match", "/v1/match/batch",
               "/gnaf/match", "/v1/citizen/addresses"):
        assert ep in endpoints


def test_bad_inputs_and_scopes_get_clear_4xx_and_write_nothing(env: Env) -> None:
    pc = env.postcodes[0]
    ok = {"national_code": PEOPLE[0], "mobile": MOBILES[0], "postcode": pc, "role": "resident"}
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("portal", "/v1/verifications", {**ok, "national_code": "1234567890"}, 422, "invalid_national_code"),
        ("portal", "/v1/verifications", {**ok, "national_code": "1111111111"}, 422, "invalid_national_code"),
        ("portal", "/v1/verifications", {**ok, "mobile": "02188776655"}, 422, "invalid_mobile"),
        ("portal", "/v1/verifications", {**ok, "postcode": "12345"}, 422, "invalid_postcode"),
        ("portal", "/v1/verifications", {**ok, "postcode": "1357988888"}, 404, "postcode_not_found"),
        ("portal", "/v1/verifications", {**ok, "role": "landlord"}, 422, "invalid_argument"),
        ("portal", "/v1/verifications", {**ok, "extra": 1}, 422, "invalid_request"),
        ("bank", "/v1/verifications", ok, 403, "scope_denied"),
        ("lookup", "/v1/match", {"national_code": PEOPLE[0], "postcode": pc, "purpose": "banking_kyc"},
         403, "scope_denied"),
        ("bank", "/v1/match", {"national_code": PEOPLE[0], "postcode": pc, "purpose": "curiosity"},
         422, "invalid_argument"),
        ("bank", "/v1/match", {"national_code": "12345", "postcode": pc, "purpose": "banking_kyc"},
         422, "invalid_national_code"),
        ("portal", "/v1/verifications/vr_nope/visit", {"agent": "postman-12"}, 403, "scope_denied"),
        ("post", "/v1/verifications/vr_00000000000000000000/visit", {"agent": "postman-12"}, 404,
         "request_not_found"),
        ("bank", "/v1/citizen/challenge", {"national_code": PEOPLE[0], "mobile": MOBILES[0]}, 403, "scope_denied"),
    ]
    cases.append(("portal", "/v1/verifications", {**ok, "postcode": env.retired}, 409, "postcode_retired"))
    for who, path, body, status, code in cases:
        r = env.post(who, path, body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (path, body, r.text)
        assert PEOPLE[0] not in r.text and MOBILES[0] not in r.text
    r = env.client.post("/v1/match", json={"national_code": PEOPLE[0], "postcode": pc, "purpose": "banking_kyc"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_key"
    assert links(env) == 0  # nothing half-written

    rid = env.post("portal", "/v1/verifications", ok).json()["id"]
    r = env.post("post", f"/v1/verifications/{rid}/reject", {"agent": "postman-12", "reason": "bored"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_argument"
    assert env.client.get(f"/v1/verifications/{rid}", headers={"X-API-Key": env.keys["portal"]}).json()[
        "state"] == "code_sent"  # the refused reject changed nothing
    # The same person, postcode and role again: answered like any request (an existing link is judged only
    # at the door, by the agent), so the answer tells the caller nothing.
    r = env.post("portal", "/v1/verifications", ok)
    assert r.status_code == 201 and r.json()["state"] == "code_sent"
    assert links(env) == 2


def test_expired_code(env: Env) -> None:
    rid = env.post("portal", "/v1/verifications", {"national_code": PEOPLE[0], "mobile": MOBILES[0],
                                                   "postcode": env.postcodes[0], "role": "owner"}).json()["id"]
    env.clock.now += timedelta(hours=73)
    r = env.post("post", f"/v1/verifications/{rid}/visit", {"agent": "postman-12"})
    assert r.status_code == 410 and r.json()["error"]["code"] == "code_expired"
    assert env.client.get(f"/v1/verifications/{rid}", headers={"X-API-Key": env.keys["post"]}).json()[
        "state"] == "expired"
    r = env.post("post", f"/v1/verifications/{rid}/confirm", {"agent": "postman-12", "code": env.code(rid)})
    assert r.status_code == 409


def test_too_many_code_tries(env: Env) -> None:
    rid = env.post("portal", "/v1/verifications", {"national_code": PEOPLE[0], "mobile": MOBILES[0],
                                                   "postcode": env.postcodes[0], "role": "tenant"}).json()["id"]
    env.post("post", f"/v1/verifications/{rid}/visit", {"agent": "postman-12"})
    right = env.code(rid)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    got = [env.post("post", f"/v1/verifications/{rid}/confirm", {"agent": "postman-12", "code": wrong})
           for _ in range(3)]
    assert [(r.status_code, r.json()["error"]["code"]) for r in got] == [
        (422, "wrong_code"), (422, "wrong_code"), (429, "too_many_tries")]
    assert got[0].json()["error"]["tries_left"] == 2
    r = env.post("post", f"/v1/verifications/{rid}/confirm", {"agent": "postman-12", "code": right})
    assert r.status_code == 409
    assert env.client.get(f"/v1/verifications/{rid}", headers={"X-API-Key": env.keys["portal"]}).json()[
        "state"] == "rejected"
    assert env.match(PEOPLE[0], env.postcodes[0]).json()["matched"] is False


def test_enumeration_is_blocked_with_retry_after_and_an_alert(env: Env) -> None:
    pc = env.postcodes[0]
    codes = [ncode.complete(f"{n:09d}") for n in range(100000001, 100000013)]
    statuses = [env.match(c, pc).status_code for c in codes[:10]]
    assert statuses == [200] * 10
    r = env.match(codes[10], pc)
    assert r.status_code == 429 and r.json()["error"]["code"] == "enumeration_suspected"
    assert int(r.headers["Retry-After"]) > 0 and r.json()["error"]["trace_id"]
    assert codes[10] not in r.text
    # The block holds for this postcode, even for a pair asked before.
    assert env.match(codes[0], pc).status_code == 429
    assert env.match(codes[0], env.postcodes[1]).status_code == 200  # other postcodes still answered
    code, out = cli("verify", "alerts", "--db", str(env.registry), "--json")
    assert code == 0 and '.bank-melli"' in out and codes[10] not in out


def test_key_rotation_keeps_matches_correct(env: Env) -> None:
    env.verify(PEOPLE[0], MOBILES[0], env.postcodes[0])
    env.verify(PEOPLE[1], MOBILES[1], env.postcodes[1], "owner")
    before = env.verify_db.stat().st_size
    code, out = cli("verify", "rotate-key", "--db", str(env.registry))
    assert code == 0 and "key version 1 → 2" in out, out
    assert re.findall(r"(?m)^(\d+):", (env.verify_db.parent / "verify.key").read_text()) == ["1", "2"]
    assert env.verify_db.stat().st_size >= before  # the data stayed
    assert env.match(PEOPLE[0], env.postcodes[0]).json()["matched"] is True
    assert env.match(PEOPLE[1], env.postcodes[1]).json()["role"] == "owner"
    assert env.match(PEOPLE[0], env.postcodes[1]).json()["matched"] is False
    # New work after rotation uses the new key.
    env.verify(PEOPLE[2], MOBILES[2], env.postcodes[2])
    assert env.match(PEOPLE[2], env.postcodes[2]).json()["matched"] is True


def test_audit_tampering_is_detected(env: Env) -> None:
    env.verify(PEOPLE[0], MOBILES[0], env.postcodes[0])
    for pc in env.postcodes[:3]:
        env.match(PEOPLE[0], pc)
    code, out = cli("audit", "verify", "--db", str(env.registry))
    assert code == 0 and out.startswith("ok:"), out
    with sqlite3.connect(env.verify_db) as conn:
        seq = conn.execute("SELECT seq FROM verify_audit WHERE outcome = 'not_matched' LIMIT 1").fetchone()[0]
        conn.execute("UPDATE verify_audit SET outcome = 'matched' WHERE seq = ?", (seq,))
    code, out = cli("audit", "verify", "--db", str(env.registry))
    assert code == 1 and f"BROKEN at record {seq} (edited)" in out, out


def _forms(person: str, mobile: str) -> list[bytes]:
    """Every way a national code or mobile could sit in a file: digit scripts, prefixes, packed integers."""
    texts = {person, mobile, mobile[1:], "98" + mobile[1:], "+98" + mobile[1:], "0098" + mobile[1:]}
    out: set[bytes] = set()
    for t in texts:
        for form in (t, t.translate(PERSIAN), t.translate(ARABIC)):
            out.add(form.encode())
            out.add(form.encode("utf-16-le"))
    for n in (int(person), int(mobile)):
        out.update({struct.pack(">q", n), struct.pack("<q", n)})
    return sorted(out)


def _raw(tmp: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tmp.iterdir()) if ".sqlite" in p.name}


def test_raw_databases_hold_no_national_code_or_mobile(env: Env) -> None:
    for i in range(3):
        env.verify(PEOPLE[i], MOBILES[i], env.postcodes[i])
    rid = env.post("portal", "/v1/verifications", {"national_code": PEOPLE[3], "mobile": MOBILES[3],
                                                   "postcode": env.postcodes[3], "role": "tenant"}).json()["id"]
    env.post("post", f"/v1/verifications/{rid}/visit", {"agent": "postman-12"})
    env.post("post", f"/v1/verifications/{rid}/reject", {"agent": "postman-12", "reason": "identity_mismatch"})
    for i in range(4):
        env.match(PEOPLE[i], env.postcodes[i])
        env.match(PEOPLE[i], env.postcodes[i + 5])
    env.post("bank", "/v1/match", {"national_code": PEOPLE[0][:9], "postcode": env.postcodes[0],
                                   "purpose": "banking_kyc"})  # an invalid one: its input is not kept either
    ch = env.post("portal", "/v1/citizen/challenge", {"national_code": PEOPLE[0], "mobile": MOBILES[0]}).json()
    env.post("portal", "/v1/citizen/addresses", {"challenge_id": ch["challenge_id"], "code": env.code(
        ch["challenge_id"])})
    env.client.app.state.service.audit.flush()  # type: ignore[attr-defined]
    tmp = env.registry.parent
    snapshots = [_raw(tmp)]
    names = set(snapshots[0])
    assert {"registry.verify.sqlite-wal", "registry.service.sqlite-wal", "registry.sqlite"} <= names, names
    env.stop()  # graceful stop: audit drained, databases checkpointed
    snapshots.append(_raw(tmp))
    checked = 0
    for files in snapshots:
        for name, data in files.items():
            for person, mobile in zip(PEOPLE, MOBILES, strict=True):
                for form in _forms(person, mobile):
                    assert form not in data, (name, form)
                    checked += 1
    assert checked > 500


def _comparable(r: Any) -> tuple[int, Any]:
    body = r.json()
    if isinstance(body, dict):
        body.pop("trace_id", None)
        if isinstance(body.get("error"), dict):
            body["error"].pop("request_id", None)
            body["error"].pop("trace_id", None)
    return r.status_code, body


def test_match_hot_path_answers_as_the_route(env: Env) -> None:
    """/v1/match through jinef.api.hot_paths and through its FastAPI route: same answers, both audited."""
    person, postcode = PEOPLE[0], env.postcodes[0]
    env.verify(person, MOBILES[0], postcode)
    routed_app = create_app(env.registry, key_cache_ttl=0, verify_clock=env.clock, hot=False, dev_sms_outbox=True)
    bank, shop = {"X-API-Key": env.keys["bank"]}, {"X-API-Key": env.keys["lookup"]}
    ok = {"national_code": person, "postcode": postcode, "purpose": "banking_kyc"}
    calls: list[dict[str, Any]] = [
        {"headers": bank, "json": ok},  # yes
        {"headers": bank, "json": {**ok, "national_code": person.translate(PERSIAN)}},  # yes, Persian digits
        {"headers": bank, "json": {**ok, "postcode": env.postcodes[1]}},  # no
        {"headers": bank, "json": {**ok, "national_code": "1234567890"}},  # bad check digit: 422
        {"headers": bank, "json": {**ok, "postcode": "12"}},  # bad postcode: 422
        {"headers": bank, "json": {**ok, "purpose": "curiosity"}},  # unknown purpose: 422
        {"headers": bank, "json": {**ok, "extra": "x"}},  # unknown field: 422 from the model
        {"headers": bank, "json": {**ok, "purpose": "x" * 65}},  # too long: 422 from the model
        {"headers": bank, "json": {**ok, "postcode": 1234567891}},  # not a string
        {"headers": {**bank, "Content-Type": "application/json"}, "content": b'{"national_code": '},  # 400
        {"json": ok},  # no key: 401
        {"headers": shop, "json": ok},  # no match scope: 403
    ]
    with TestClient(routed_app, raise_server_exceptions=False) as routed:
        hot_answers = [env.client.post("/v1/match", **kw) for kw in calls]
        routed_answers = [routed.post("/v1/match", **kw) for kw in calls]
    for kw, a, b in zip(calls, hot_answers, routed_answers, strict=True):
        assert _comparable(a) == _comparable(b), kw
    assert [a.status_code for a in hot_answers[:3]] == [200, 200, 200]
    assert [a.json()["matched"] for a in hot_answers[:3]] == [True, True, False]
    assert {400, 401, 403, 422} <= {a.status_code for a in hot_answers}
    # Every answered or refused match (not the malformed or unauthorised calls) is in the chained audit, twice.
    with sqlite3.connect(env.verify_db) as conn:
        audited = conn.execute("SELECT COUNT(*) FROM verify_audit WHERE action = 'match'").fetchone()[0]
    assert audited == 2 * 6
