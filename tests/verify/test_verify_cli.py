"""The `jinef verify`, `jinef audit` and `jinef outbox` commands on a real database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, HubFactory, verify_link

from jinef.cli.main import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"JINEF_VERIFY_KEY": ""})
    return result.exit_code, result.output


def test_outbox_lists_masked_messages(make_hub: HubFactory, db_path: Path, registry_path: Path) -> None:
    hub = make_hub()
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0], "resident")
    hub.close()
    code, out = run("outbox", "--db", str(registry_path), "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 1 and rows[0]["ref"] == req.id and rows[0]["to"] == "09*******21"
    assert MOBILES[0] not in out


def test_audit_verify_ok_then_broken(make_hub: HubFactory, db_path: Path, registry_path: Path) -> None:
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    hub.close()
    code, out = run("audit", "verify", "--db", str(registry_path))
    assert code == 0 and out.startswith("ok: 4 records, head 4:")
    head = out.split("head ")[1].strip()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE verify_audit SET org = 'nobody' WHERE seq = 2")
    code, out = run("audit", "verify", "--db", str(registry_path))
    assert code == 1 and "BROKEN at record 2 (edited)" in out
    code, out = run("audit", "verify", "--db", str(registry_path), "--json", "--expect-head", head)
    assert code == 1 and json.loads(out)["issue"]["seq"] == 2


def test_rotate_key_command(make_hub: HubFactory, db_path: Path, registry_path: Path) -> None:
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    hub.close()
    code, out = run("verify", "rotate-key", "--db", str(registry_path))
    assert code == 0 and "key version 1 → 2" in out and "re-keyed 2 hashes" in out
    again = make_hub()
    assert again.matching.match("bank-melli", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc").matched


def test_national_code_command() -> None:
    code, out = run("verify", "code", PEOPLE[0], "--json")
    assert code == 0 and json.loads(out)[0]["valid"]
    code, out = run("verify", "code", "1111111111", "--json")
    assert code == 1 and json.loads(out)[0]["reasons"] == ["one_digit_repeated"]


def test_expire_and_alerts_commands(make_hub: HubFactory, db_path: Path, registry_path: Path) -> None:
    hub = make_hub()
    hub.workflow.request(PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0], "resident")
    hub.close()
    code, out = run("verify", "expire", "--db", str(registry_path))
    # The request was made on the test clock's date (March 2025): by the real clock its code has expired.
    assert code == 0 and out.strip() == "expired 1 requests"
    code, out = run("verify", "expire", "--db", str(registry_path))
    assert out.strip() == "expired 0 requests"
    code, out = run("verify", "alerts", "--db", str(registry_path), "--json")
    assert code == 0 and json.loads(out) == []


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    code, out = run("audit", "verify", "--db", str(tmp_path / "nope.sqlite"))
    assert code == 1 and "no verification database" in out
