"""The service's state store on both engines (a SQLite file; a PostgreSQL schema that replicas share): keys,
one token bucket per organisation whichever store takes from it, and the call audit with its roll-ups."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest

from jinef.api.servicedb import AuditRecord, ServiceStore, hash_key, open_store
from jinef.common.pg_location import parse_location
from tests.conftest import pg_location


@pytest.fixture
def target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """A fresh service store location for this engine."""
    if engine == "postgres":
        return pg_location(request.getfixturevalue("pg_dsn"), "service")
    return tmp_path / "registry.service.sqlite"


@pytest.fixture
def store(target: Path | str) -> ServiceStore:
    s = open_store(target)
    yield s  # type: ignore[misc]
    s.close()


def raw_rows(target: Path | str, table: str) -> str:
    """A table's rows as text, read behind the store's back."""
    if isinstance(target, Path):
        with sqlite3.connect(target) as conn:
            return repr(conn.execute(f"SELECT * FROM {table}").fetchall())
    loc = parse_location(target)
    with psycopg.connect(loc.dsn) as conn:
        return repr(conn.execute(f'SELECT t::text FROM "{loc.schema}".{table} t').fetchall())  # type: ignore[arg-type]


def test_keys_are_made_found_listed_and_revoked(store: ServiceStore, target: Path | str) -> None:
    info, key = store.create_key("bank-melli", ["lookup", "match"], 5.0, None, "bank")
    office, office_key = store.create_key("post-23", ["registry_approve"], None, "23")
    p = store.find_principal(key)
    assert p is not None and (p.org, p.scopes, p.rate, p.province) == ("bank-melli", {"lookup", "match"}, 5.0, None)
    assert store.find_principal(office_key).province == "23"  # type: ignore[union-attr]
    assert store.find_principal("jnf_unknown") is None
    assert [k.id for k in store.list_keys()] == [office.id, info.id]
    assert key not in raw_rows(target, "api_keys") and hash_key(key) in raw_rows(target, "api_keys")
    with pytest.raises(ValueError, match="unknown scopes"):
        store.create_key("bank-melli", ["everything"], None)
    assert store.revoke_key(str(info.id)) == 1 and store.revoke_key(info.prefix) == 0
    assert store.find_principal(key) is None and store.find_principal(office_key) is not None


def test_one_bucket_per_organisation_whichever_store_takes(target: Path | str) -> None:
    """Two stores on one database, as two replicas: the organisation's rate holds for their sum."""
    a = open_store(target)
    b = open_store(target)
    try:
        org = a.create_key("shop", ["lookup"], 1.0)[0]
        org_id = a.find_principal(b.create_key("shop", ["lookup"], None)[1]).org_id  # type: ignore[union-attr]
        assert org.rate == 1.0
        assert a.take_token(org_id) == 0.0  # the burst: one
        assert b.take_token(org_id) > 0 and a.take_token(org_id) > 0
        assert b.take_token(org_id, 1.0, credit=1.0) == 0.0  # a bucket full but for this call's credit
        # A batch larger than the burst goes from a full bucket and leaves it in debt for ~10 s.
        slow = a.create_key("batcher", ["lookup"], 1.0)[1]
        batcher = a.find_principal(slow).org_id  # type: ignore[union-attr]
        assert b.take_token(batcher, 10.0) == 0.0 and a.take_token(batcher) > 5
        # Many callers at once through both stores: never more than the burst plus what refilled meanwhile.
        racer = b.find_principal(b.create_key("racer", ["lookup"], 2.0)[1]).org_id  # type: ignore[union-attr]
        allowed: list[float] = []
        start = time.monotonic()

        def take(s: ServiceStore) -> None:
            for _ in range(10):
                allowed.append(s.take_token(racer))

        threads = [threading.Thread(target=take, args=(s,)) for s in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        assert 2 <= allowed.count(0.0) <= 2 + 2 * elapsed + 1, (allowed.count(0.0), elapsed)
        assert b.take_token(99999) == 0.0  # no such organisation: nothing to limit
    finally:
        a.close()
        b.close()


def _record(i: int, org: str, status: int = 200, items: int = 1, latency_ms: float = 3.0) -> AuditRecord:
    return AuditRecord(1000.0 + i, f"req{i}", 7, org, 1, "GET", "/v1/postcodes/{postcode}", items, status,
                       "ok" if status == 200 else "rate_limited", latency_ms)


def test_audit_records_and_roll_ups(target: Path | str) -> None:
    a, b = open_store(target), open_store(target)
    try:
        a.write_audit([_record(0, "bank"), _record(1, "bank", 429)])
        b.write_audit([_record(2, "shop", items=5, latency_ms=40.0), _record(3, "bank")])
        b.write_audit([])
        assert [r.request_id for r in a.tail_audit(3)] == ["req1", "req2", "req3"]
        assert [r.request_id for r in a.tail_audit(5, org="bank")] == ["req0", "req1", "req3"]
        assert a.count_audit() == 4 and a.count_audit("shop") == 1
        assert [r.request_id for r in b.iter_audit(1001.0, 1003.0)] == ["req1", "req2"]
        assert next(iter(b.iter_audit())) == _record(0, "bank")
        requests, latency = a.metric_rows()
        assert [(e, o, s, n, items) for e, o, s, n, _, items in requests] == [
            ("/v1/postcodes/{postcode}", "bank", 200, 2, 2), ("/v1/postcodes/{postcode}", "bank", 429, 1, 1),
            ("/v1/postcodes/{postcode}", "shop", 200, 1, 5)]
        assert sorted((o, bucket, n) for _, o, bucket, n in latency) == [("bank", 2, 3), ("shop", 5, 1)]
        a.checkpoint()
    finally:
        a.close()
        b.close()
