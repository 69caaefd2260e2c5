"""The verification hub's store on both engines (a SQLite file; a PostgreSQL schema, as replicas share it): the
same records, the same chain, the same counts, and write transactions serialised across processes."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, Clock, HubFactory, verify_link

from jinef.common.pg_location import parse_location
from jinef.read.verify import AbuseConfig, EnumerationSuspected, KeyRingError, VerifyConfig, open_verify_store
from jinef.read.verify.keys import load_ring
from jinef.read.verify.store import (
    HEAD_MISSING_ACTION,
    Alert,
    AuditEntry,
    Challenge,
    Link,
    OutboxMessage,
    Seen,
    StaleKeyVersion,
    VerifiedLink,
    VerifyStore,
)
from tests.conftest import pg_location

T0 = datetime(2025, 3, 21, 8, 0, 0, 123456, tzinfo=UTC)
H = [bytes([i]) * 32 for i in range(8)]  # stand-ins for keyed hashes


@pytest.fixture
def db_path(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """The hub's store for this engine: a file beside a registry, or a schema of the test server."""
    if engine == "postgres":
        return pg_location(request.getfixturevalue("pg_dsn"), "verify")
    return tmp_path / "var" / "registry.verify.sqlite"


@pytest.fixture
def store(db_path: Path | str) -> VerifyStore:
    s = open_verify_store(db_path)
    yield s  # type: ignore[misc]
    s.close()


def run_sql(target: Path | str, statement: str) -> None:
    """Change the stored tables behind the store's back (as someone with database access would)."""
    if isinstance(target, Path):
        with sqlite3.connect(target) as conn:
            conn.execute(statement)
        return
    loc = parse_location(target)
    with psycopg.connect(loc.dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{loc.schema}"')
        conn.execute(statement)  # type: ignore[arg-type]


def link(i: int, state: str = "verified", **kw: object) -> Link:
    base: dict[str, object] = dict(id=f"r{i}", nc_hash=H[i], mobile_hash=H[i + 1], postcode=ACTIVE_POSTCODES[i],
                                   role="resident", state=state, requested_at=T0, updated_at=T0, code_hash=H[7],
                                   code_expires_at=T0 + timedelta(minutes=10), verified_at=T0)
    base.update(kw)
    return Link(**base)  # type: ignore[arg-type]


def test_links_round_trip_and_count(store: VerifyStore) -> None:
    with store.transaction() as tx:
        tx.insert_link(link(0))
        tx.insert_link(link(1, "requested", verified_at=None))
        tx.insert_link(link(2, "rejected", verified_at=None, reason="identity_mismatch"))
    assert store.get_link("r0") == link(0) and store.get_link("nope") is None
    with store.transaction() as tx:
        assert tx.get_link("r1") == link(1, "requested", verified_at=None)
        assert tx.count_active() == 2 and tx.count_active(verified_only=True) == 1
        assert tx.count_active(nc_hash=H[0], postcode=ACTIVE_POSTCODES[0], role="resident") == 1
        assert tx.count_active(nc_hash=H[2]) == 0  # rejected holds no slot
        assert tx.count_requests(H[2], T0) == 1 and tx.count_requests(H[2], T0 + timedelta(seconds=1)) == 0
        assert [x.id for x in tx.due_links(T0 + timedelta(minutes=11))] == ["r1"]
        assert [x.id for x in tx.verified_links_of(H[0], H[1])] == ["r0"]
        tx.update_link(link(1, "verified", tries=2, agent="postman-12"))
    assert store.get_link("r1") == link(1, "verified", tries=2, agent="postman-12")
    pairs = [(H[0], ACTIVE_POSTCODES[0]), (H[0], ACTIVE_POSTCODES[1]), (H[1], ACTIVE_POSTCODES[1])]
    yes = [VerifiedLink("resident", T0)]
    assert store.find_verified(pairs, 0) == [yes, [], yes]
    store.init_keys(1, {1: "check"})
    with pytest.raises(StaleKeyVersion):
        store.find_verified([(H[0], ACTIVE_POSTCODES[0])], 0)


def test_a_failed_transaction_leaves_nothing(store: VerifyStore) -> None:
    with pytest.raises(ZeroDivisionError), store.transaction() as tx:
        tx.insert_link(link(0))
        tx.append_audit([AuditEntry(T0, "bank", "match", "kyc", "matched", "t1")])
        raise ZeroDivisionError
    assert store.get_link("r0") is None and store.audit_head() is None and list(store.audit_rows()) == []


def test_the_audit_chain_and_a_removed_head(store: VerifyStore, db_path: Path | str) -> None:
    entries = [AuditEntry(T0 + timedelta(seconds=i), "bank", "match", "kyc", "matched", f"t{i}") for i in range(3)]
    with store.transaction() as tx:
        assert [r.seq for r in tx.append_audit(entries[:2])] == [1, 2]
    with store.transaction() as tx:
        tx.append_audit(entries[2:])
    rows = list(store.audit_rows())
    assert [r.entry for r in rows] == entries and rows[1].prev_hash == rows[0].hash
    assert store.audit_head() == (3, rows[2].hash)
    run_sql(db_path, "DELETE FROM verify_audit_head")
    with store.transaction() as tx:
        tx.append_audit(entries[:1])
    rows = list(store.audit_rows())
    assert [r.entry.action for r in rows[3:]] == [HEAD_MISSING_ACTION, "match"] and rows[3].entry.outcome == "after:3"


def test_challenges_outbox_seen_and_alerts(store: VerifyStore) -> None:
    ch = Challenge("c1", H[0], H[1], H[2], T0, T0 + timedelta(minutes=5))
    alert = Alert(None, T0, "shop", "codes_per_postcode", ACTIVE_POSTCODES[0], 6, 600, T0 + timedelta(hours=1),
                  ("shop",))
    with store.transaction() as tx:
        tx.insert_challenge(ch)
        assert tx.count_challenges(H[1], T0) == 1
        tx.update_challenge(Challenge("c1", H[0], H[1], H[2], T0, ch.expires_at, 2, "failed"))
        assert tx.get_challenge("c1") == Challenge("c1", H[0], H[1], H[2], T0, ch.expires_at, 2, "failed")
        tx.add_outbox(OutboxMessage(None, T0, "0912***4321", "verify", "r1", "sealed:abc"))
        tx.add_outbox(OutboxMessage(None, T0, "0912***4321", "verify", "r2", "code 123456 in clear"))
        seen = [Seen(T0 + timedelta(seconds=i), "shop", ACTIVE_POSTCODES[0], f"nc:{i}") for i in range(4)]
        first = tx.add_seen(seen[:2])
        assert tx.add_seen(seen[2:]) == first + 2 and tx.add_seen([]) == first + 2
        got, cursor = tx.seen_after(first - 1, T0 + timedelta(seconds=2))
        assert got == seen[2:] and cursor == first + 2
        alert_id = tx.add_alert(alert)
        assert tx.alerts_after(alert_id - 1) == ([Alert(alert_id, *list(_fields(alert))[1:])], alert_id)
        tx.forget_seen(T0 + timedelta(seconds=3))
        assert tx.seen_after(0, T0)[0] == seen[3:]
    assert [m.ref for m in store.outbox()] == ["r2", "r1"] and store.outbox(ref="r1")[0].body == "sealed:abc"
    assert store.clear_unsealed_outbox() == 1 and "123456" not in store.outbox(ref="r2")[0].body
    assert [a.subject for a in store.alerts()] == [ACTIVE_POSTCODES[0]]
    assert store.alerts(since=T0 + timedelta(seconds=1)) == []


def _fields(alert: Alert) -> tuple[object, ...]:
    return tuple(getattr(alert, f) for f in Alert.__slots__)


def test_keys_and_rewrap(store: VerifyStore) -> None:
    assert store.key_state() == (0, {})
    store.init_keys(1, {1: "one"})
    store.init_keys(1, {1: "other"})  # already keyed: no change
    assert store.key_state() == (1, {1: "one"})
    with store.transaction() as tx:
        tx.insert_link(link(0))
    n = store.rewrap(1, 2, lambda h: h[::-1], {1: "one", 2: "two"},
                     [AuditEntry(T0, "operator", "key_rotation", "key_management", "v1->v2", "t")])
    assert n == 3 and store.key_state() == (2, {1: "one", 2: "two"})
    assert store.find_verified([(H[0][::-1], ACTIVE_POSTCODES[0])], 2) == [[VerifiedLink("resident", T0)]]
    with pytest.raises(StaleKeyVersion):
        store.rewrap(1, 3, lambda h: h, {})


def test_write_transactions_of_two_processes_take_turns(db_path: Path | str) -> None:
    """Two stores on one database (two replicas): the second writer waits for the first to commit."""
    a, b = open_verify_store(db_path), open_verify_store(db_path)
    entered = threading.Event()

    def second() -> None:
        with b.transaction() as tx:
            entered.set()
            tx.append_audit([AuditEntry(T0, "b", "match", "kyc", "matched", "tb")])

    try:
        with a.transaction() as tx:
            tx.append_audit([AuditEntry(T0, "a", "match", "kyc", "matched", "ta")])
            thread = threading.Thread(target=second)
            thread.start()
            assert not entered.wait(0.5), "a second writer got in while the first held the hub"
        thread.join(30)
        assert entered.is_set()
        assert [(r.seq, r.entry.org) for r in a.audit_rows()] == [(1, "a"), (2, "b")]
    finally:
        a.close()
        b.close()


def test_a_hub_on_each_engine_verifies_matches_and_counts_two_processes_as_one(
        make_hub: HubFactory, clock: Clock, tmp_path: Path) -> None:
    config = VerifyConfig(abuse=AbuseConfig(window_seconds=600, max_codes_per_postcode=3, max_postcodes_per_code=4))
    key = tmp_path / "verify.key"
    a, b = make_hub(config=config, key_path=key), make_hub(config=config, key_path=key)
    verify_link(a, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    assert b.matching.match("bank", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc").matched
    for i, person in enumerate(PEOPLE[1:4]):  # 1 + 3 distinct codes on one postcode, split between the two
        assert not (a if i % 2 else b).matching.match("shop", person, ACTIVE_POSTCODES[1], "delivery").matched
        clock.advance(seconds=1)
    with pytest.raises(EnumerationSuspected):
        a.matching.match("shop", PEOPLE[4], ACTIVE_POSTCODES[1], "delivery")
    assert len(b.store.alerts()) == 1
    assert b.rotate_key().to_version == 2
    assert a.matching.match("bank", PEOPLE[0], ACTIVE_POSTCODES[0], "banking_kyc").matched  # picked up
    assert a.verify_audit().ok


def test_a_replica_with_another_key_ring_is_refused(make_hub: HubFactory, tmp_path: Path,
                                                    db_path: Path | str) -> None:
    make_hub(key_path=tmp_path / "first.key").close()
    with pytest.raises(KeyRingError, match="not the key"):
        make_hub(key_path=tmp_path / "second.key")  # made fresh on another host: refused, never "no match"
    with pytest.raises(KeyRingError, match="copy it from the host"):
        load_ring(tmp_path / "third.key", db_path=db_path, create=False)


def dump_tables(target: Path | str) -> dict[str, str]:
    """Every row of every table of the hub's store, as text."""
    if isinstance(target, Path):
        with sqlite3.connect(target) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {n: repr(conn.execute(f"SELECT * FROM {n}").fetchall()) for n in names}
    loc = parse_location(target)
    with psycopg.connect(loc.dsn) as pg:
        names = [r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (loc.schema,))]
        return {n: repr(pg.execute(f'SELECT t::text FROM "{loc.schema}".{n} t').fetchall())  # type: ignore[arg-type]
                for n in names}


def test_nothing_personal_is_stored_in_clear(make_hub: HubFactory, db_path: Path | str, tmp_path: Path) -> None:
    hub = make_hub(key_path=tmp_path / "verify.key")
    for i in range(2):
        verify_link(hub, PEOPLE[i], MOBILES[i], ACTIVE_POSTCODES[i])
        hub.matching.match("bank", PEOPLE[i], ACTIVE_POSTCODES[i], "banking_kyc")
    tables = dump_tables(db_path)
    text = "".join(tables.values())
    # Every table is there, and the dump would show a national code if one were stored: postcodes show.
    assert len(tables) == 8 and ACTIVE_POSTCODES[0] in text
    for secret in PEOPLE[:2] + MOBILES[:2] + [m[1:] for m in MOBILES[:2]]:
        assert secret not in text
