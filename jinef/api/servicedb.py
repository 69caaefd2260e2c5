"""Live service state: organisations, API keys, quotas, the audit log and metric roll-ups.

This never lives in the registry file (rebuilds rename a new file over it and readers open it
read-only): it is a separate database beside it, see :func:`jinef.common.config.service_db_path`.
All SQL is behind :class:`ServiceStore`: :class:`SqliteServiceStore` here (one file beside a file registry),
:class:`jinef.api.service_postgres.PostgresServiceStore` for replicas sharing a PostgreSQL registry;
:func:`open_store` picks one from the target. The queries both engines run are written once in
``service_sql.py``; each engine keeps its schema, connections, write serialisation and token bucket.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from jinef.api.service_records import (
    AUDIT_COLUMNS,
    KEY_PREFIX,
    KNOWN_SCOPES,
    LATENCY_BUCKETS,
    ORG_TYPES,
    AuditRecord,
    KeyInfo,
    Principal,
    hash_key,
    latency_bucket,
    new_key,
)
from jinef.api.service_sql import AUDIT_RANGE, SqlServiceStore, audit_range, audit_records, wait_seconds
from jinef.common.fileperm import create_private
from jinef.common.messages import MessageError, message
from jinef.common.pg_location import is_postgres
from jinef.common.write_lock import FileWriteLock

# The records and key rules live in service_records.py (the engines share them); callers import them from here.
__all__ = [
    "AUDIT_COLUMNS",
    "KEY_PREFIX",
    "KNOWN_SCOPES",
    "LATENCY_BUCKETS",
    "ORG_TYPES",
    "AuditRecord",
    "KeyInfo",
    "Principal",
    "ServiceStore",
    "SqliteServiceStore",
    "hash_key",
    "hub_label",
    "latency_bucket",
    "new_key",
    "open_store",
    "parse_rate",
]

# An organisation name shown inside the hub's label when it is a plain lower-case one (no ':' — that
# separates the organisation from the agent in an agent's label).
_LABEL_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")


def hub_label(org_id: int, org: str) -> str:
    """The organisation as the verification hub knows it: ``o<id>.<name>``, or ``o<id>`` when the name is not a
    plain label.

    Built on the organisation's unique id, so two organisations never share a label (and with it enumeration
    counters, blocks and an audit identity), whatever their names: "Bank Melli" (id 14) is ``o14`` and an
    organisation named ``org14`` is ``o15.org14``. The name is only there for people reading alerts and audit.
    """
    return f"o{org_id}.{org}" if _LABEL_NAME.match(org) else f"o{org_id}"


def parse_rate(text: str) -> float:
    """``"10/s"``, ``"600/min"``, ``"5000/h"`` or ``"10"`` → requests per second."""
    num, _, unit = text.strip().partition("/")
    per = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
    if unit.strip().lower() not in per:
        raise MessageError(message("keys.rate_unit", unit=unit))
    value = float(num) / per[unit.strip().lower()]
    if not math.isfinite(value) or value <= 0:
        raise MessageError(message("keys.rate_positive"))
    return value


class ServiceStore(Protocol):
    """What the HTTP service needs from its state store."""

    def create_key(self, org: str, scopes: Sequence[str], rate: float | None,
                   province: str | None = None, org_type: str | None = None) -> tuple[KeyInfo, str]:
        """Create a key (and the organisation if new; ``province`` binds it to one, ``org_type`` says what the
        organisation is); return it, shown once."""
        ...

    def list_keys(self) -> list[KeyInfo]:
        """Every key, newest first."""
        ...

    def revoke_key(self, ident: str) -> int:
        """Revoke keys by id or prefix; return how many were revoked."""
        ...

    def find_principal(self, key: str) -> Principal | None:
        """The principal for a key, or None when unknown or revoked."""
        ...

    def take_token(self, org_id: int, cost: float = 1.0, credit: float = 0.0) -> float:
        """Take ``cost`` tokens from the organisation's bucket: 0 when allowed, else seconds to wait (``credit``:
        tokens this call already took, so a full bucket less them counts as full)."""
        ...

    def write_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records and update metric roll-ups in one transaction."""
        ...

    def tail_audit(self, n: int, org: str | None = None) -> list[AuditRecord]:
        """The last ``n`` records, oldest first."""
        ...

    def iter_audit(self, since: float | None = None, until: float | None = None) -> Iterator[AuditRecord]:
        """Records in time order."""
        ...

    def count_audit(self, org: str | None = None) -> int:
        """How many records (for one organisation)."""
        ...

    def metric_rows(self) -> tuple[list[tuple[str, str, int, int, float, int]], list[tuple[str, str, int, int]]]:
        """Roll-ups: (endpoint, org, status, count, latency_sum, items) and (endpoint, org, bucket, count)."""
        ...

    def checkpoint(self) -> None:
        """Move committed writes into the main file (a background chore, never on the commit path)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rate REAL,              -- requests per second; NULL = unlimited
    burst REAL,
    tokens REAL NOT NULL DEFAULT 0,
    updated REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    scopes TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    request_id TEXT NOT NULL,
    worker INTEGER NOT NULL,
    org TEXT NOT NULL,
    key_id INTEGER,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    items INTEGER NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
-- No secondary index on audit: every answer waits for its record's commit, and the two indexes once kept
-- here (ts; org, ts) were two thirds of that commit's cost. Readers walk the id order, which is the time
-- order: tail reads back from the end, export scans forward.
DROP INDEX IF EXISTS audit_ts;
DROP INDEX IF EXISTS audit_org;
CREATE TABLE IF NOT EXISTS metric_requests (
    endpoint TEXT NOT NULL, org TEXT NOT NULL, status INTEGER NOT NULL,
    count INTEGER NOT NULL, latency_sum REAL NOT NULL, items INTEGER NOT NULL,
    PRIMARY KEY (endpoint, org, status)
);
CREATE TABLE IF NOT EXISTS metric_latency (
    endpoint TEXT NOT NULL, org TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (endpoint, org, bucket)
);
"""


class SqliteServiceStore(SqlServiceStore):
    """:class:`ServiceStore` on one SQLite file in WAL mode, shared by every worker process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        create_private(self.path)  # API key hashes and the call log: 0600 before SQLite creates it
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writes = FileWriteLock(self.path)
        with self._writes.held():
            self._conn().executescript(_SCHEMA)
            # Keys made before provinces were bound to them (service databases from earlier versions).
            columns = {r[1] for r in self._conn().execute("PRAGMA table_info(api_keys)")}
            if "province" not in columns:
                self._conn().execute("ALTER TABLE api_keys ADD COLUMN province TEXT")
            # Organisations made before they had a type (service databases from earlier versions).
            if "kind" not in {r[1] for r in self._conn().execute("PRAGMA table_info(orgs)")}:
                self._conn().execute("ALTER TABLE orgs ADD COLUMN kind TEXT")

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread: the event loop (auth, quota) and the audit writer never share one.
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a process crash; only an OS crash can lose the last ones.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # No checkpoint inside a commit: its fsync would hold up the call records (and so the answers)
            # waiting behind that commit. The service runs checkpoint() from a thread of its own instead.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _execute(self, query: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn().execute(query, params)

    def _execute_many(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn().executemany(query, rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        c = self._conn()
        with self._writes.held():  # the file lock first: writers queue on it, not in SQLite's busy handler
            c.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def _fill_bucket(self, org: str, rate: float, now: float) -> None:
        burst = max(1.0, rate)
        self._execute("UPDATE orgs SET rate = ?, burst = ?, tokens = ?, updated = ? WHERE name = ?",
                      (rate, burst, burst, now, org))

    # -- quota --------------------------------------------------------------------------------
    def take_token(self, org_id: int, cost: float = 1.0, credit: float = 0.0) -> float:
        """Take ``cost`` tokens from the organisation's bucket: 0 when allowed, else seconds to wait.

        One atomic UPDATE, so every worker process shares the same bucket. A cost above the burst (a batch
        of 1,000 items on a key of 5/s) is taken from a full bucket and leaves it in debt, so the organisation
        waits until the items are paid for at its rate: the long-run rate holds and no batch is impossible.
        ``credit`` is what the same call already took (a batch's first item, at its key check): a bucket full
        but for that counts as full.
        """
        now = time.time()
        c = self._conn()
        with self._writes.held():
            cur = c.execute(
                """UPDATE orgs SET tokens = MIN(burst, tokens + MAX(0, :now - updated) * rate) - :cost,
                                  updated = MAX(updated, :now)
                   WHERE id = :id AND rate IS NOT NULL
                     AND MIN(burst, tokens + MAX(0, :now - updated) * rate) >= MIN(:cost, burst - :credit)""",
                {"now": now, "cost": cost, "id": org_id, "credit": credit})
        if cur.rowcount:
            return 0.0
        row = c.execute("SELECT tokens, updated, rate, burst FROM orgs WHERE id = ?", (org_id,)).fetchone()
        return wait_seconds(None if row is None else (*row, now), cost, credit)

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database file, without holding up writers."""
        try:
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError:  # another process is checkpointing: it does the work
            pass

    def iter_audit(self, since: float | None = None, until: float | None = None) -> Iterator[AuditRecord]:
        """Records in time order."""
        yield from audit_records(self._conn().execute(AUDIT_RANGE, audit_range(since, until)))

    def close(self) -> None:
        """Release connections."""
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()
        self._writes.close()


def open_store(target: str | os.PathLike[str]) -> ServiceStore:
    """Open the service store at ``target``: a SQLite file, or a ``postgresql://…?schema=…`` URL (tables created on
    open)."""
    if is_postgres(target):
        from jinef.api.service_postgres import PostgresServiceStore  # imports servicedb: loaded on demand

        return PostgresServiceStore(str(target))
    return SqliteServiceStore(target)
