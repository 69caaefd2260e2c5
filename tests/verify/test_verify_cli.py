"""The `jinef verify`, `jinef audit` and `jinef outbox` commands on a real database."""

from __future__ import annotations

import json
import re
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


def test_the_whole_verification_from_the_cli(small_registry: Path, tmp_path: Path) -> None:
    """request (national code and mobile on stdin, never echoed) → outbox (full id, whole Persian text) → visit →
    a wrong code (exit 1) → the right code: verified."""
    from jinef.read.registry.registry import Registry

    with Registry.open(small_registry) as reg:
        postcode = next(reg.addresses()).postcode
    where = ["--db", str(small_registry), "--verify-db", str(tmp_path / "v.sqlite"), "--key-file",
             str(tmp_path / "verify.key")]
    refused = runner.invoke(app, ["verify", "request", "--postcode", postcode, *where], input="x\ny\n",
                            env={"JINEF_VERIFY_KEY": "", "JINEF_DEV_SMS_OUTBOX": "", "JINEF_SMS_GATEWAY_URL": ""})
    assert refused.exit_code == 2 and "--dev-sms-outbox" in refused.stderr
    asked = runner.invoke(app, ["verify", "request", "--postcode", postcode, "--dev-sms-outbox", "--json", *where],
                          input=f"{PEOPLE[0]}\n{MOBILES[0]}\n", env={"JINEF_VERIFY_KEY": ""})
    assert asked.exit_code == 0, asked.output
    opened = json.loads(asked.stdout)
    assert opened["state"] == "code_sent" and opened["postcode"] == postcode
    assert PEOPLE[0] not in asked.output and MOBILES[0] not in asked.output
    request_id = opened["id"]
    code, out = run("outbox", *where[2:], "--db", str(small_registry))
    header, text = out.splitlines()[:2]
    assert code == 0 and header.endswith(f"verification  {request_id}") and "09*******21" in header
    assert text.strip().startswith("Jinef: کد احراز نشانی شما") and text.strip().endswith("به مأمور پست بدهید.")
    one_time = re.search(r"\d{6}", text)
    assert one_time is not None
    code, out = run("verify", "visit", request_id, "--agent", "postman-1", *where)
    assert code == 0 and out.startswith(f"{request_id}: visited") and "agent cli:postman-1" in out
    wrong = runner.invoke(app, ["verify", "confirm", request_id, "--agent", "postman-1", *where], input="000000\n",
                          env={"JINEF_VERIFY_KEY": ""})
    assert wrong.exit_code == 1 and "[wrong_code]" in wrong.stderr
    right = runner.invoke(app, ["verify", "confirm", request_id, "--agent", "postman-1", "--json", *where],
                          input=one_time.group() + "\n", env={"JINEF_VERIFY_KEY": ""})
    assert right.exit_code == 0, right.output
    assert json.loads(right.stdout)["state"] == "verified"


def test_audit_and_key_ring_texts_follow_lang(make_hub: HubFactory, db_path: Path, registry_path: Path) -> None:
    """`jinef --lang fa audit verify` says the chain is intact, or where it broke, in Persian (the head to copy
    stays Latin); a key ring the hub refuses is named exactly, in the chosen language."""
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    hub.close()
    code, out = run("--lang", "fa", "audit", "verify", "--db", str(registry_path))
    assert code == 0 and re.match(r"زنجیره سالم است: ۴ رکورد، سرِ زنجیره 4:[0-9a-f]{64}$", out.strip()), out
    code, out = run("--lang", "fa", "audit", "verify", "--db", str(registry_path), "--expect-head", "nonsense")
    assert code == 1 and "سرِ زنجیره به شکل «<seq>:<hex hash>» نوشته می‌شود" in out, out
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE verify_audit SET org = 'nobody' WHERE seq = 2")
    code, out = run("--lang", "fa", "audit", "verify", "--db", str(registry_path))
    assert code == 1 and out.strip() == "زنجیره در رکورد ۲ شکسته است (edited): رکورد ۲ پس از نوشته شدن تغییر کرده است"
    code, out = run("--lang", "en", "audit", "verify", "--db", str(registry_path), "--json")
    assert code == 1 and json.loads(out)["issue"]["message"] == "record 2 was changed after it was written"
    (db_path.parent / "verify.key").chmod(0o644)
    code, out = run("--lang", "fa", "verify", "rotate-key", "--db", str(registry_path))
    assert code == 1 and "را دیگران هم می‌توانند بخوانند (مجوز 644)؛ آن را با chmod 600 ببندید" in out, out
    code, out = run("--lang", "en", "verify", "rotate-key", "--db", str(registry_path))
    assert code == 1 and "is readable by others (mode 644); chmod 600 it" in out, out
