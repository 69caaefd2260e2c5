"""One-time codes and keys on disk (case 5): no outbox unless asked for, nothing in clear, files 0600."""

from __future__ import annotations

import http.server
import json
import re
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any, ClassVar

from jinef.model.digits import to_latin_digits
from tests.security.conftest import Postcodes, Server, cli, mobiles, people, post, start_server

SMS_TEXT = "کد احراز نشانی شما".encode()  # the words around the code in the verification SMS


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_case05_without_a_gateway_nothing_needing_a_code_starts(small_registry: Path, tmp_path: Path,
                                                                postcodes: Postcodes) -> None:
    """`jinef serve` with neither --sms-gateway nor --dev-sms-outbox: refused up front, nothing stored."""
    server = start_server(small_registry, tmp_path / "no-sms", {"JINEF_DEV_SMS_OUTBOX": "0"}, workers=1)
    try:
        key = server.key("sec5-portal", ("verify_request", "citizen"))
        (person,) = people(1)
        (mobile,) = mobiles(1)
        with server.client(key) as c:
            r = post(c, "/v1/verifications", {"national_code": person, "mobile": mobile,
                                              "postcode": postcodes.take(1)[0], "role": "resident"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "sms_unavailable", r.text
            r = post(c, "/v1/citizen/challenge", {"national_code": person, "mobile": mobile})
            assert r.status_code == 503 and r.json()["error"]["code"] == "sms_unavailable", r.text
        with sqlite3.connect(server.verify_db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM verify_link").fetchone()[0] == 0
            assert conn.execute("SELECT COUNT(*) FROM verify_outbox").fetchone()[0] == 0
    finally:
        server.stop()


def test_case05_the_development_outbox_keeps_no_code_in_clear(server: Server, postcodes: Postcodes) -> None:
    key = server.key("sec5-dev-portal", ("verify_request",))
    with server.client(key) as c:
        r = post(c, "/v1/verifications", {"national_code": people(1)[0], "mobile": mobiles(1)[0],
                                          "postcode": postcodes.take(1)[0], "role": "resident"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    code = server.otp(rid)  # readable with the key ring (what `jinef outbox` does) ...
    with sqlite3.connect(server.verify_db) as conn:
        (body,) = conn.execute("SELECT body FROM verify_outbox WHERE ref = ?", (rid,)).fetchone()
    assert code not in body and "احراز" not in body, body  # ... but not from the database alone
    for part in ("", "-wal"):
        raw = Path(f"{server.verify_db}{part}")
        if raw.exists():
            assert SMS_TEXT not in raw.read_bytes(), raw
    out = cli("outbox", "--verify-db", str(server.verify_db), "--ref", rid, "--json")
    assert out.returncode == 0 and code in out.stdout, out.stderr


def test_case05_database_and_key_files_are_private(server: Server, tmp_path: Path) -> None:
    files = [server.verify_db, server.service_db, server.verify_db.with_name("verify.key")]
    files += [Path(f"{f}{s}") for f in (server.verify_db, server.service_db) for s in ("-wal", "-shm")]
    existing = [f for f in files if f.exists()]
    assert server.verify_db in existing and server.service_db in existing
    assert {f.name: oct(_mode(f)) for f in existing} == {f.name: "0o600" for f in existing}
    built = tmp_path / "fresh.sqlite"
    out = cli("build", "--units", "300", "--db", str(built))
    assert out.returncode == 0, out.stderr
    assert oct(_mode(built)) == "0o600"


class _Operator(http.server.BaseHTTPRequestHandler):
    """A stand-in for an SMS operator's HTTP API: records each message, or fails while told to."""

    received: ClassVar[list[dict[str, Any]]] = []
    failing: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.failing:
            self.send_response(502)
        else:
            type(self).received.append({"auth": self.headers.get("Authorization"), **json.loads(body)})
            self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_case05_codes_go_to_the_configured_gateway(small_registry: Path, tmp_path: Path,
                                                   postcodes: Postcodes) -> None:
    operator = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Operator)
    threading.Thread(target=operator.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{operator.server_address[1]}/sms"
    server = start_server(small_registry, tmp_path / "gateway",
                          {"JINEF_SMS_GATEWAY_URL": url, "JINEF_SMS_GATEWAY_TOKEN": "operator-token"}, workers=1)
    try:
        portal = server.key("sec5-gw-portal", ("verify_request",))
        agent = server.key("sec5-gw-post", ("field_agent",))
        (person,), (mobile,) = people(1), mobiles(1)
        with server.client(portal) as p, server.client(agent) as a:
            r = post(p, "/v1/verifications", {"national_code": person, "mobile": mobile,
                                              "postcode": postcodes.take(1)[0], "role": "resident"})
            assert r.status_code == 201, r.text
            rid = r.json()["id"]
            (sms,) = [m for m in _Operator.received if m["ref"] == rid]
            assert sms["to"] == mobile and sms["auth"] == "Bearer operator-token"
            code = re.search(r"\d{6}", to_latin_digits(sms["text"]))
            assert code
            r = post(a, f"/v1/verifications/{rid}/confirm", {"agent": "postman-3", "code": code.group()})
            assert r.status_code == 200 and r.json()["state"] == "verified", r.text
            _Operator.failing = True  # the operator is down: the caller is told, the request can be resent
            r = post(p, "/v1/verifications", {"national_code": people(1)[0], "mobile": mobiles(1)[0],
                                              "postcode": postcodes.take(1)[0], "role": "resident"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "sms_failed", r.text
        with sqlite3.connect(server.verify_db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM verify_outbox").fetchone()[0] == 0  # nothing kept here
    finally:
        _Operator.failing = False
        server.stop()
        operator.shutdown()
