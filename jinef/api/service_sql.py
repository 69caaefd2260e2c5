"""The service store's queries, written once for both engines (``servicedb.py``, ``service_postgres.py``).

Every statement here uses ``?`` placeholders and runs through the engine's ``_execute`` (PostgreSQL's spells it
with :func:`jinef.common.sql_params.postgres_sql`); upserts use the spelling both engines take (``INSERT … AS m …
ON CONFLICT (columns)``) and new ids come back through ``RETURNING`` (SQLite has taken it since 3.35). Each
engine keeps its schema, its connections, how a write transaction is serialised (SQLite ``BEGIN IMMEDIATE``
under a file lock; PostgreSQL a plain transaction, whose row locks order concurrent writers), and the
statements whose SQL differs: the token bucket (SQLite's scalar ``MIN``/``MAX`` and the caller's clock,
PostgreSQL's ``LEAST``/``GREATEST`` and the server's clock) and the audit export's cursor.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from jinef.api.service_records import (
    AUDIT_COLUMNS,
    KEY_PREFIX,
    KNOWN_SCOPES,
    ORG_TYPES,
    AuditRecord,
    KeyInfo,
    Principal,
    hash_key,
    latency_bucket,
    new_key,
)
from jinef.common.messages import MessageError, message
from jinef.common.sql_params import Cursor


def _checked_org(org: str, scopes: Sequence[str], org_type: str | None) -> str:
    """The organisation's name of a key request, stripped; refuses an empty name, an unknown type or scope."""
    org = org.strip()
    if not org:
        raise MessageError(message("keys.org_required"))
    if org_type is not None and org_type not in ORG_TYPES:
        raise MessageError(message("keys.org_type", org_type=org_type, choices=ORG_TYPES))
    bad = sorted(set(scopes) - set(KNOWN_SCOPES))
    if not scopes:
        raise MessageError(message("keys.no_scopes", choices=KNOWN_SCOPES))
    if bad:
        raise MessageError(message("keys.scopes", bad=bad, choices=KNOWN_SCOPES))
    return org


def wait_seconds(bucket: Sequence[Any] | None, cost: float, credit: float) -> float:
    """Seconds until a bucket (tokens, updated, rate, burst, now) holds ``cost`` less ``credit``; 0 if unlimited."""
    if bucket is None or bucket[2] is None:
        return 0.0  # unlimited organisation
    tokens, updated, rate, burst, now = bucket
    available = min(burst, tokens + max(0.0, now - updated) * rate)
    return float(max((min(cost, burst - credit) - available) / rate, 1e-3))


AUDIT_RANGE = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE ts >= ? AND ts < ? ORDER BY id"


def audit_range(since: float | None, until: float | None) -> tuple[float, float]:
    """The parameters of :data:`AUDIT_RANGE`: everything when a bound is None."""
    return (since if since is not None else 0.0, until if until is not None else math.inf)


def audit_records(cursor: Any) -> Iterator[AuditRecord]:
    """The records a cursor on :data:`AUDIT_RANGE` reads, a batch at a time (an export may be large)."""
    while rows := cursor.fetchmany(5000):
        for r in rows:
            yield AuditRecord(*r)


class SqlServiceStore(ABC):
    """The queries both engines run, written once with ``?`` placeholders.

    Each engine says how a statement runs (PostgreSQL spells it with
    :func:`jinef.common.sql_params.postgres_sql`) and how a write transaction is serialised, and keeps the
    statements whose SQL differs: the token bucket's arithmetic and clock, and the audit export's cursor.
    """

    @abstractmethod
    def _execute(self, query: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement on this thread's connection."""

    @abstractmethod
    def _execute_many(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row, on this thread's connection."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """A write transaction on this thread's connection: committed on success, rolled back on any exception."""

    @abstractmethod
    def _fill_bucket(self, org: str, rate: float, now: float) -> None:
        """Give the organisation ``rate`` per second and a full bucket of one second's worth (at least 1)."""

    # -- keys ---------------------------------------------------------------------------------
    def create_key(self, org: str, scopes: Sequence[str], rate: float | None,
                   province: str | None = None, org_type: str | None = None) -> tuple[KeyInfo, str]:
        """Create a key (and the organisation if new; ``province`` binds it to one, ``org_type`` says what the
        organisation is); return it, shown once."""
        org = _checked_org(org, scopes, org_type)
        key = new_key()
        now = time.time()
        prefix = key[: len(KEY_PREFIX) + 6]
        scope_text = ",".join(sorted(set(scopes)))
        with self._transaction():
            self._execute("INSERT INTO orgs (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (org, now))
            if org_type is not None:
                self._execute("UPDATE orgs SET kind = ? WHERE name = ?", (org_type, org))
            if rate is not None:
                self._fill_bucket(org, rate, now)
            org_id, org_rate = self._execute("SELECT id, rate FROM orgs WHERE name = ?", (org,)).fetchone()
            row = self._execute(
                "INSERT INTO api_keys (key_hash, prefix, org_id, scopes, created, province) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (hash_key(key), prefix, org_id, scope_text, now, province)).fetchone()
        return KeyInfo(int(row[0]), prefix, org, tuple(scope_text.split(",")), org_rate, now, None, province), key

    def list_keys(self) -> list[KeyInfo]:
        """Every key, newest first."""
        rows = self._execute("SELECT k.id, k.prefix, o.name, k.scopes, o.rate, k.created, k.revoked, k.province "
                             "FROM api_keys k JOIN orgs o ON o.id = k.org_id ORDER BY k.id DESC").fetchall()
        return [KeyInfo(r[0], r[1], r[2], tuple(r[3].split(",")), r[4], r[5], r[6], r[7]) for r in rows]

    def revoke_key(self, ident: str) -> int:
        """Revoke keys by id or prefix; return how many were revoked."""
        column = "id" if ident.isdigit() else "prefix"
        value: int | str = int(ident) if ident.isdigit() else ident
        now = time.time()
        with self._transaction():
            cur = self._execute(f"UPDATE api_keys SET revoked = ? WHERE {column} = ? AND revoked IS NULL",
                                (now, value))
        return cur.rowcount

    def find_principal(self, key: str) -> Principal | None:
        """The principal for a key, or None when unknown or revoked."""
        row = self._execute(
            "SELECT k.id, o.id, o.name, k.scopes, o.rate, k.province FROM api_keys k JOIN orgs o ON o.id = k.org_id "
            "WHERE k.key_hash = ? AND k.revoked IS NULL", (hash_key(key),)).fetchone()
        if row is None:
            return None
        return Principal(row[0], row[1], row[2], frozenset(row[3].split(",")), row[4], row[5])

    # -- audit and metrics --------------------------------------------------------------------
    def write_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records and update metric roll-ups in one transaction."""
        if not records:
            return
        req: dict[tuple[str, str, int], list[float]] = {}
        lat: dict[tuple[str, str, int], int] = {}
        for r in records:
            agg = req.setdefault((r.endpoint, r.org, r.status), [0, 0.0, 0])
            agg[0] += 1
            agg[1] += r.latency_ms / 1000.0
            agg[2] += r.items
            b = latency_bucket(r.latency_ms / 1000.0)
            lat[(r.endpoint, r.org, b)] = lat.get((r.endpoint, r.org, b), 0) + 1
        with self._transaction():
            self._execute_many(
                f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})",
                [tuple(getattr(r, f) for f in AUDIT_COLUMNS) for r in records])
            # Sorted: two writers updating the same roll-up rows lock them in one order (no deadlock on PostgreSQL).
            self._execute_many(
                "INSERT INTO metric_requests AS m VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (endpoint, org, status) DO UPDATE SET count = m.count + excluded.count, "
                "latency_sum = m.latency_sum + excluded.latency_sum, items = m.items + excluded.items",
                [(*k, int(v[0]), v[1], int(v[2])) for k, v in sorted(req.items())])
            self._execute_many(
                "INSERT INTO metric_latency AS m VALUES (?, ?, ?, ?) "
                "ON CONFLICT (endpoint, org, bucket) DO UPDATE SET count = m.count + excluded.count",
                [(*k, v) for k, v in sorted(lat.items())])

    def tail_audit(self, n: int, org: str | None = None) -> list[AuditRecord]:
        """The last ``n`` records, oldest first."""
        cols = ", ".join(AUDIT_COLUMNS)
        if org:
            rows = self._execute(f"SELECT {cols} FROM audit WHERE org = ? ORDER BY id DESC LIMIT ?", (org, n))
        else:
            rows = self._execute(f"SELECT {cols} FROM audit ORDER BY id DESC LIMIT ?", (n,))
        return [AuditRecord(*r) for r in reversed(rows.fetchall())]

    def count_audit(self, org: str | None = None) -> int:
        """How many records (for one organisation)."""
        if org:
            row = self._execute("SELECT COUNT(*) FROM audit WHERE org = ?", (org,)).fetchone()
        else:
            row = self._execute("SELECT COUNT(*) FROM audit").fetchone()
        return int(row[0]) if row else 0

    def metric_rows(self) -> tuple[list[tuple[str, str, int, int, float, int]], list[tuple[str, str, int, int]]]:
        """Roll-ups: (endpoint, org, status, count, latency_sum, items) and (endpoint, org, bucket, count)."""
        req = self._execute("SELECT * FROM metric_requests ORDER BY endpoint, org, status").fetchall()
        lat = self._execute("SELECT * FROM metric_latency ORDER BY endpoint, org, bucket").fetchall()
        return req, lat
