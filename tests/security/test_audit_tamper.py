"""`jinef audit verify` against a hub database edited on disk (case 10)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from jinef.read.verify import VerifyHub
from tests.security.conftest import cli, people

POSTCODES = [f"13579{i:05d}" for i in range(1, 9)]


def _status(postcode: str) -> str | None:
    return "active" if postcode in POSTCODES else None


def _match_some(path: Path, n: int) -> None:
    hub = VerifyHub.open(path, _status, environ={})
    try:
        for i, person in enumerate(people(n)):
            hub.matching.match("bank", person, POSTCODES[i % len(POSTCODES)], "banking_kyc")
    finally:
        hub.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub database with a few audited matches (copied, never edited, by each test)."""
    path = tmp_path_factory.mktemp("audit") / "registry.verify.sqlite"
    _match_some(path, 6)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _copy(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "registry.verify.sqlite"
    shutil.copy(pristine, path)
    shutil.copy(pristine.with_name("verify.key"), tmp_path / "verify.key")
    return path


def _edit(path: Path, *sql: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in sql:
            conn.execute(statement)


def _verify(path: Path, *extra: str) -> tuple[int, str]:
    """Exit code, and stdout (the JSON under --json: nothing else may be there) followed by stderr."""
    out = cli("audit", "verify", "--verify-db", str(path), *extra)
    if "--json" in extra:
        return out.returncode, out.stdout
    return out.returncode, out.stdout + out.stderr


def test_case10_the_intact_log_verifies(pristine: Path, tmp_path: Path) -> None:
    code, out = _verify(_copy(pristine, tmp_path))
    assert code == 0 and out.startswith("ok: 6 records"), out


@pytest.mark.parametrize("cut", [0, 1, 3])
def test_case10_a_deleted_head_is_caught(pristine: Path, tmp_path: Path, cut: int) -> None:
    """The head row deleted alone, or with the last records."""
    path = _copy(pristine, tmp_path)
    _edit(path, "DELETE FROM verify_audit_head", f"DELETE FROM verify_audit WHERE seq > {6 - cut}")
    code, out = _verify(path)
    assert code == 1 and "head" in out, out
    code, out = _verify(path, "--json")
    report = json.loads(out)
    assert report["ok"] is False and report["issue"]["kind"] == "head_missing", report


def test_case10_a_deleted_head_stays_caught_after_the_hub_writes_again(pristine: Path, tmp_path: Path) -> None:
    """A running hub must not quietly re-create the head over the gap."""
    path = _copy(pristine, tmp_path)
    _edit(path, "DELETE FROM verify_audit_head", "DELETE FROM verify_audit WHERE seq > 4")
    _match_some(path, 2)
    code, out = _verify(path, "--json")
    report = json.loads(out)
    assert code == 1 and report["issue"]["kind"] == "head_missing" and report["issue"]["seq"] == 5, report


def test_case10_an_unparsable_field_names_its_record(pristine: Path, tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    _edit(path, "UPDATE verify_audit SET ts = 'yesterday at noon' WHERE seq = 3")
    code, out = _verify(path)
    assert code == 1 and "record 3" in out and "ts" in out, out
    code, out = _verify(path, "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["issue"]["seq"] == 3, report
    assert report["issue"]["kind"] == "unreadable" and report["records"] == 2


def test_case10_a_field_of_the_wrong_type_names_its_record(pristine: Path, tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    _edit(path, "UPDATE verify_audit SET prev_hash = 'not a hash' WHERE seq = 5")  # text in the BLOB column
    code, out = _verify(path, "--json")
    report = json.loads(out)
    assert code == 1 and report["issue"]["seq"] == 5 and "prev_hash" in report["issue"]["message"], report


def test_case10_json_is_honoured_when_verification_cannot_even_start(tmp_path: Path) -> None:
    code, out = _verify(tmp_path / "nowhere.sqlite", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and "no verification database" in report["error"]
    bad_head = _verify(tmp_path / "nowhere.sqlite", "--json", "--expect-head", "nonsense")
    assert json.loads(bad_head[1])["ok"] is False
