"""Privacy by construction (no identifier in the database files) and key rotation."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, HubFactory, last_code, verify_link

from jinef.model.digits import ARABIC_DIGITS, PERSIAN_DIGITS
from jinef.read.verify import KeyRing, KeyRingError, VerifyHub, rotate_key
from jinef.read.verify.keys import ENV_VAR, load_ring, parse_ring
from jinef.read.verify.sqlite_store import SqliteVerifyStore

P0, P1 = ACTIVE_POSTCODES[:2]


def digit_forms(number: str) -> list[str]:
    forms = {number, number.translate(str.maketrans("0123456789", PERSIAN_DIGITS))}
    forms.add(number.translate(str.maketrans("0123456789", ARABIC_DIGITS)))
    return sorted(forms)


def identifier_forms(national_code: str, mobile: str) -> list[bytes]:
    texts = digit_forms(national_code)
    for m in (mobile, mobile[1:], "98" + mobile[1:], "+98" + mobile[1:]):
        texts += digit_forms(m)
    out = [t.encode("utf-8") for t in texts]
    out += [t.encode("utf-16-le") for t in texts]  # in case anything stored UTF-16 text
    out.append(int(national_code).to_bytes(8, "big"))  # as an integer column
    out.append(int(mobile).to_bytes(8, "big"))
    return out


def raw_files(db_path: Path) -> dict[str, bytes]:
    files = {}
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db_path) + suffix)
        if p.exists():
            files[p.name] = p.read_bytes()
    return files


def full_workflow(hub: VerifyHub) -> None:
    """Every path that touches a national code or mobile: workflow, matches, citizen view, failures."""
    for i in range(3):
        verify_link(hub, PEOPLE[i], MOBILES[i], ACTIVE_POSTCODES[i])
    rejected = hub.workflow.request(PEOPLE[3], MOBILES[3], ACTIVE_POSTCODES[3], "tenant")
    hub.workflow.reject(rejected.id, "identity_mismatch", agent="postman-12")
    pending = hub.workflow.request(PEOPLE[4], MOBILES[4], ACTIVE_POSTCODES[4], "business")
    hub.workflow.resend_code(pending.id, MOBILES[4])
    for i in range(5):
        hub.matching.match("bank-melli", PEOPLE[i], ACTIVE_POSTCODES[i], "banking_kyc")
        hub.matching.match("bank-melli", PEOPLE[i], ACTIVE_POSTCODES[i + 5], "banking_kyc")
    ch = hub.citizen.challenge(PEOPLE[0], MOBILES[0])
    assert hub.citizen.addresses(ch.id, last_code(hub, ch.id))
    hub.rotate_key()
    hub.matching.match("bank-melli", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc")


def test_no_identifier_in_any_database_file(make_hub: HubFactory, db_path: Path) -> None:
    hub = make_hub()
    full_workflow(hub)
    # While the hub is open (WAL and SHM present), then again after it closed (checkpointed).
    snapshots = [raw_files(db_path)]
    assert {db_path.name, f"{db_path.name}-wal", f"{db_path.name}-shm"} <= set(snapshots[0])
    hub.close()
    snapshots.append(raw_files(db_path))
    checked = 0
    for files in snapshots:
        for name, data in files.items():
            for person, mobile in zip(PEOPLE, MOBILES, strict=True):
                for form in identifier_forms(person, mobile):
                    assert form not in data, f"{form!r} found in {name}"
                    checked += 1
    assert checked > 300
    # And the test would see one if it were there: the postcodes (stored in clear) are found.
    assert any(P0.encode() in data for data in snapshots[1].values())


def test_key_file_is_created_private_next_to_the_database(make_hub: HubFactory, db_path: Path) -> None:
    make_hub()
    key = db_path.parent / "verify.key"
    assert key.exists()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ring = parse_ring(key.read_text())
    assert ring.latest == 1 and len(ring.keys[0]) == 32


def test_a_world_readable_key_file_is_refused(make_hub: HubFactory, db_path: Path) -> None:
    make_hub().close()
    os.chmod(db_path.parent / "verify.key", 0o644)
    with pytest.raises(KeyRingError, match="chmod 600"):
        make_hub()


def test_a_wrong_key_is_refused_instead_of_answering_no(make_hub: HubFactory, db_path: Path) -> None:
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    hub.close()
    (db_path.parent / "verify.key").unlink()  # a fresh random key would silently break every match
    with pytest.raises(KeyRingError, match="not the key"):
        make_hub()


def test_rotation_keeps_every_match_and_rekeys_every_hash(make_hub: HubFactory, db_path: Path) -> None:
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    pending = hub.workflow.request(PEOPLE[1], MOBILES[1], P1, "owner")
    code = last_code(hub, pending.id)
    before = _hashes(db_path)
    result = hub.rotate_key()
    assert (result.from_version, result.to_version, result.rehashed) == (1, 2, 5)
    after = _hashes(db_path)
    assert len(before) == len(after) == 5 and not set(before) & set(after)
    assert parse_ring((db_path.parent / "verify.key").read_text()).latest == 2
    assert hub.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched
    # A code sent before the rotation still works after it.
    assert hub.workflow.confirm(pending.id, code, agent="postman-12").state == "verified"
    hub.close()
    again = make_hub()
    assert again.matching.match("bank-melli", PEOPLE[1], P1, "banking_kyc").matched
    assert again.rotate_key().to_version == 3
    assert again.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched
    assert again.verify_audit().ok


def test_a_rotation_by_another_process_is_picked_up(make_hub: HubFactory, db_path: Path) -> None:
    serving = make_hub()
    verify_link(serving, PEOPLE[0], MOBILES[0], P0)
    # The operator rotates from a separate process (here: a separate store and ring).
    store = SqliteVerifyStore(db_path)
    rotate_key(store, load_ring(db_path=db_path, environ={}))
    store.close()
    # The serving hub still answers correctly, and new rows are written under the new key.
    assert serving.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched
    verify_link(serving, PEOPLE[1], MOBILES[1], P1)
    fresh = make_hub()
    assert fresh.matching.match("bank-melli", PEOPLE[1], P1, "banking_kyc").matched


def test_rotation_is_all_or_nothing(make_hub: HubFactory, db_path: Path) -> None:
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    before = _hashes(db_path)
    store = SqliteVerifyStore(db_path)
    ring = load_ring(db_path=db_path, environ={}).with_new_key()

    calls = 0

    def failing_step(h: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        return h[::-1]

    with pytest.raises(OSError):
        store.rewrap(1, 2, failing_step, {1: ring.check_value(1), 2: ring.check_value(2)})
    store.close()
    assert _hashes(db_path) == before
    assert hub.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched


def test_a_new_key_written_but_not_applied_is_harmless(make_hub: HubFactory, db_path: Path) -> None:
    # A crash between saving the new key and re-keying the rows leaves an unused key in the ring.
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    hub.close()
    key_path = db_path.parent / "verify.key"
    parse_ring(key_path.read_text(), key_path).with_new_key().save()
    again = make_hub()
    assert again.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched
    assert again.rotate_key().to_version == 2  # the pending key is used, not another one
    assert parse_ring(key_path.read_text()).latest == 2
    assert again.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched


def test_key_ring_from_the_environment(make_hub: HubFactory, db_path: Path) -> None:
    ring = KeyRing((os.urandom(32),))
    env = {ENV_VAR: ring.to_text().strip()}
    hub = make_hub(environ=env)
    verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    assert not (db_path.parent / "verify.key").exists()
    with pytest.raises(KeyRingError, match="append a new key"):
        hub.rotate_key()
    hub.close()
    env2 = {ENV_VAR: ring.with_new_key().to_text().replace("\n", ";")}
    hub2 = make_hub(environ=env2)
    assert hub2.rotate_key().to_version == 2
    assert hub2.matching.match("bank-melli", PEOPLE[0], P0, "banking_kyc").matched
    hub2.close()
    with pytest.raises(KeyRingError, match="only 1 keys"):
        make_hub(environ=env)  # the old one-key ring can no longer open the rotated database


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("2:" + "A" * 44, "in order"), ("1:abc", "base64|bytes"), ("x", "version")],
)
def test_malformed_rings(text: str, message: str) -> None:
    with pytest.raises(KeyRingError, match=message):
        parse_ring(text)


def test_ring_repr_hides_secrets() -> None:
    ring = KeyRing((b"\x01" * 32,))
    assert "\\x01" not in repr(ring) and "AQEB" not in repr(ring)


def _hashes(db_path: Path) -> list[bytes]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT nc_hash, mobile_hash, code_hash FROM verify_link ORDER BY id").fetchall()
    return [h for row in rows for h in row if h is not None]


def test_tables_live_in_the_given_file_in_wal_mode(make_hub: HubFactory, db_path: Path) -> None:
    make_hub().close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {
        "verify_meta",
        "verify_link",
        "verify_challenge",
        "verify_outbox",
        "verify_audit",
        "verify_audit_head",
        "verify_seen",
        "verify_alert",
    }
    # Opening again (as every process does) is harmless: CREATE TABLE IF NOT EXISTS.
    make_hub().close()
