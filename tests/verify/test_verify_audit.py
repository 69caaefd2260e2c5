"""The tamper-evident audit chain: every kind of tampering is detected and the first bad record named."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, HubFactory, verify_link

from jinef.read.verify import VerifyHub
from jinef.read.verify.audit import verify_store


@pytest.fixture
def logged(make_hub: HubFactory) -> VerifyHub:
    """A hub with a dozen audit records from real workflow steps and matches."""
    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])  # 4 records
    verify_link(hub, PEOPLE[1], MOBILES[1], ACTIVE_POSTCODES[1])  # 4 records
    for p in ACTIVE_POSTCODES[:4]:
        hub.matching.match("bank-melli", PEOPLE[0], p, "banking_kyc")
    return hub


def tamper(db_path: Path, *sql: str) -> None:
    with sqlite3.connect(db_path) as conn:
        for statement in sql:
            conn.execute(statement)


def check(hub: VerifyHub) -> tuple[int, str] | None:
    report = verify_store(hub.store)
    return None if report.issue is None else (report.issue.seq, report.issue.kind)


def test_an_intact_chain_verifies(logged: VerifyHub) -> None:
    report = logged.verify_audit()
    assert report.ok and report.records == 12 and report.head_seq == 12
    rows = list(logged.store.audit_rows())
    assert [r.seq for r in rows] == list(range(1, 13))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))


def test_records_never_hold_a_national_code_or_mobile(logged: VerifyHub) -> None:
    text = repr([r.entry for r in logged.store.audit_rows()])
    for secret in PEOPLE[:2] + MOBILES[:2]:
        assert secret not in text


def test_an_edited_record_is_named(logged: VerifyHub, db_path: Path) -> None:
    tamper(db_path, "UPDATE verify_audit SET outcome = 'matched' WHERE seq = 10")
    assert check(logged) == (10, "edited")


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(
    logged: VerifyHub, db_path: Path
) -> None:
    from jinef.read.verify.audit import chain_hash
    from jinef.read.verify.store import AuditEntry

    row = next(r for r in logged.store.audit_rows() if r.seq == 7)
    forged = AuditEntry(
        row.entry.ts,
        "someone-else",
        *(getattr(row.entry, f) for f in ("action", "purpose", "outcome", "trace_id", "subject")),
    )
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE verify_audit SET org = ?, hash = ? WHERE seq = 7",
            (forged.org, chain_hash(row.prev_hash, forged)),
        )
    assert check(logged) == (8, "deleted")


def test_a_deleted_record_is_named(logged: VerifyHub, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM verify_audit WHERE seq = 5")
    report = verify_store(logged.store)
    assert report.issue is not None
    assert (report.issue.seq, report.issue.kind) == (5, "deleted")
    assert "record 5 was deleted" in report.issue.message


def test_a_deleted_and_renumbered_record_is_still_caught(logged: VerifyHub, db_path: Path) -> None:
    tamper(
        db_path,
        "DELETE FROM verify_audit WHERE seq = 5",
        "UPDATE verify_audit SET seq = seq - 1 WHERE seq > 5",
        "UPDATE verify_audit_head SET seq = seq - 1",
    )
    assert check(logged) == (5, "deleted")


def test_reordered_records_are_named(logged: VerifyHub, db_path: Path) -> None:
    # Swap records 3 and 4 completely (content, links and hashes), keeping the sequence numbers.
    cols = "ts, org, action, purpose, outcome, trace_id, subject, prev_hash, hash"
    tamper(
        db_path,
        f"CREATE TEMP TABLE t AS SELECT seq, {cols} FROM verify_audit WHERE seq IN (3, 4)",
        "DELETE FROM verify_audit WHERE seq IN (3, 4)",
        f"INSERT INTO verify_audit (seq, {cols}) SELECT 7 - seq, {cols} FROM t",
    )
    assert check(logged) == (3, "reordered")


def test_cutting_the_tail_is_detected(logged: VerifyHub, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM verify_audit WHERE seq > 9")
    report = verify_store(logged.store)
    assert report.issue is not None and (report.issue.seq, report.issue.kind) == (10, "truncated")


def test_a_published_head_catches_a_rewritten_tail(logged: VerifyHub, db_path: Path) -> None:
    published = f"{logged.verify_audit().head_seq}:{logged.verify_audit().head_hash}"
    # The attacker cuts the tail and also moves the stored head back: only the published head knows.
    tamper(
        db_path,
        "DELETE FROM verify_audit WHERE seq > 9",
        "UPDATE verify_audit_head SET seq = 9, hash = (SELECT hash FROM verify_audit WHERE seq = 9)",
    )
    assert logged.verify_audit().ok
    report = logged.verify_audit(expect_head=published)
    assert report.issue is not None and report.issue.kind == "truncated"


def test_new_records_after_tampering_do_not_hide_it(logged: VerifyHub, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM verify_audit WHERE seq = 12")
    logged.matching.match("bank-melli", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc")
    assert check(logged) == (12, "deleted")


@given(st.text(), st.text(), st.text())
def test_canonical_form_is_plain_json(org: str, outcome: str, subject: str) -> None:
    from datetime import UTC, datetime

    from jinef.read.verify.audit import CANONICAL_VERSION, canonical
    from jinef.read.verify.store import AuditEntry

    ts = datetime(2025, 3, 21, 8, 0, 0, 1234, tzinfo=UTC)
    entry = AuditEntry(ts, org, "match", "banking_kyc", outcome, "t" * 32, subject)
    try:
        expected = json.dumps(
            [
                CANONICAL_VERSION,
                ts.isoformat(timespec="microseconds"),
                org,
                "match",
                "banking_kyc",
                outcome,
                "t" * 32,
                subject,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be stored either
        return
    assert canonical(entry) == expected
    assert json.loads(canonical(entry))[2] == org


def test_concurrent_matches_share_commits_and_keep_the_chain(make_hub: HubFactory) -> None:
    import threading

    hub = make_hub()
    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    results: list[bool] = []

    def worker(i: int) -> None:
        for _ in range(20):
            results.append(
                hub.matching.match(f"org-{i}", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc").matched
            )

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 160
    report = hub.verify_audit()
    assert report.ok and report.records == 4 + 160


def test_no_answer_without_an_audit_record(hub: VerifyHub, db_path: Path) -> None:
    from jinef.read.verify import AuditUnavailable

    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    tamper(db_path, "ALTER TABLE verify_audit RENAME TO verify_audit_gone")
    with pytest.raises(AuditUnavailable) as e:
        hub.matching.match("bank-melli", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc")
    assert e.value.http_status == 503


def test_a_failed_group_commit_refuses_every_waiting_caller(hub: VerifyHub, db_path: Path) -> None:
    import threading

    from jinef.read.verify import AuditUnavailable

    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    tamper(db_path, "ALTER TABLE verify_audit RENAME TO verify_audit_gone")
    outcomes: list[str] = []

    def worker(i: int) -> None:
        for _ in range(5):
            try:
                hub.matching.match(f"org-{i}", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc")
                outcomes.append("answered")
            except AuditUnavailable:
                outcomes.append("refused")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)  # nobody left waiting on a failed batch
    assert outcomes == ["refused"] * 30


def test_workflow_steps_and_grouped_matches_interleave_into_one_chain(make_hub: HubFactory) -> None:
    import threading

    from jinef.read.verify import MatchQuery

    hub = make_hub()
    errors: list[BaseException] = []

    def matcher(i: int) -> None:
        try:
            for j in range(15):
                if j % 5 == 0:
                    hub.matching.match_batch(
                        f"org-{i}", [MatchQuery(PEOPLE[0], p) for p in ACTIVE_POSTCODES[:3]], "banking_kyc"
                    )
                else:
                    hub.matching.match(f"org-{i}", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc")
        except BaseException as exc:
            errors.append(exc)

    def citizen() -> None:
        try:
            for k in range(1, 4):
                verify_link(hub, PEOPLE[k], MOBILES[k], ACTIVE_POSTCODES[k])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=matcher, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=citizen))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = hub.verify_audit()
    assert report.ok
    assert report.records == 6 * (12 + 3 * 3) + 3 * 4
