"""SQLite engine of :class:`jinef.read.verify.store.VerifyStore`: the ``verify_*`` tables in the hub's own file.

The file is ``jinef.common.config.verify_db_path(registry)`` (``var/registry.verify.sqlite``), never the
registry itself: rebuilds rename a new registry over the old one, which would lose live state.

WAL mode lets matches read while the audit writer commits. ``durability`` picks the
``synchronous`` setting: ``"full"`` fsyncs the WAL at every commit (a committed audit record
survives power loss); ``"normal"`` fsyncs only at checkpoints (a committed record survives a
crash of the process, but the last commits can be lost if the machine loses power).
Each thread gets its own connection; write transactions are ``BEGIN IMMEDIATE`` so that two
writers never deadlock on a lock upgrade. The queries themselves are shared with the PostgreSQL engine
(``sql_store.py``); this module keeps the file, its connections, its locking and its spelling of times.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from jinef.common.fileperm import create_private
from jinef.common.write_lock import FileWriteLock
from jinef.read.verify.audit import read_audit_row
from jinef.read.verify.sql_store import AUDIT_SELECT, SqlTx, SqlVerifyStore, VerifySql
from jinef.read.verify.store import AuditRow, Seen

Durability = Literal["full", "normal", "off"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS verify_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_link (
    id TEXT PRIMARY KEY,
    nc_hash BLOB NOT NULL,
    mobile_hash BLOB NOT NULL,
    postcode TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    code_hash BLOB,
    code_expires_at TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    sends INTEGER NOT NULL DEFAULT 0,
    code_sent_at TEXT,
    visited_at TEXT,
    agent TEXT,
    verified_at TEXT,
    closed_at TEXT,
    reason TEXT
);
-- Covering index of the match lookup: answered from the index alone.
CREATE INDEX IF NOT EXISTS verify_link_match ON verify_link (nc_hash, postcode, state, role, verified_at);
CREATE INDEX IF NOT EXISTS verify_link_postcode ON verify_link (postcode, state);
CREATE INDEX IF NOT EXISTS verify_link_due ON verify_link (state, code_expires_at);
CREATE INDEX IF NOT EXISTS verify_link_mobile ON verify_link (mobile_hash, requested_at);
CREATE TABLE IF NOT EXISTS verify_challenge (
    id TEXT PRIMARY KEY,
    nc_hash BLOB NOT NULL,
    mobile_hash BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_challenge_mobile ON verify_challenge (mobile_hash, created_at);
CREATE TABLE IF NOT EXISTS verify_outbox (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_outbox_ref ON verify_outbox (ref);
CREATE TABLE IF NOT EXISTS verify_audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    org TEXT NOT NULL,
    action TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);
-- Match queries counted by the enumeration detector (abuse.py), in time order (ts: Unix seconds).
-- No index beyond the id: every read is "after id N", and old rows go from the front.
CREATE TABLE IF NOT EXISTS verify_seen (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    org TEXT NOT NULL,
    postcode TEXT NOT NULL,
    code TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_alert (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    distinct_count INTEGER NOT NULL,
    window_seconds INTEGER NOT NULL,
    blocked_until TEXT NOT NULL,
    orgs TEXT NOT NULL DEFAULT ''  -- every organisation involved, comma-separated
);
"""


class _SqliteSql(VerifySql):
    """How SQLite takes the shared statements: as written, on one connection; times as ISO text."""

    @staticmethod
    def _time_param(value: datetime) -> str:
        # One fixed UTC format, so that text order is time order.
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    @staticmethod
    def _time_value(value: str) -> datetime:
        return datetime.fromisoformat(value)

    @abstractmethod
    def _connection(self) -> sqlite3.Connection:
        """The connection this object's statements run on."""

    def _execute(self, query: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._connection().execute(query, params)

    def _execute_many(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        self._connection().executemany(query, rows)


class SqliteTx(_SqliteSql, SqlTx):
    """The operations of one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def _connection(self) -> sqlite3.Connection:
        return self._c

    def _insert_seen(self, seen: Sequence[Seen]) -> None:
        self._c.executemany("INSERT INTO verify_seen (ts, org, postcode, code) VALUES (?, ?, ?, ?)",
                            [(x.ts.timestamp(), x.org, x.postcode, x.code) for x in seen])


class SqliteVerifyStore(_SqliteSql, SqlVerifyStore):
    """The hub's tables in one SQLite file (normally the registry database)."""

    _LOOKUP_CHUNK = 256  # pairs per lookup statement (3 parameters each, well under SQLite's limit)

    def __init__(self, path: str | Path, *, durability: Durability = "full") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        create_private(self.path)  # keyed hashes of personal data: 0600 before SQLite creates it
        self._sync = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}[durability]
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        # One connection for every write of this process: SQLite admits one writer at a time
        # anyway, and a single writer keeps its page cache warm (another connection's commit
        # would make it discard its cache).
        self._writer = self._connect()
        self._writes = FileWriteLock(self.path)
        self._writing_thread: int | None = None
        self._writer.execute("PRAGMA journal_mode = WAL")
        with self._writes.held():
            self._writer.executescript(SCHEMA)
            columns = {r[1] for r in self._writer.execute("PRAGMA table_info(verify_alert)")}
            if "orgs" not in columns:  # a database of a version before alerts named every organisation
                self._writer.execute("ALTER TABLE verify_alert ADD COLUMN orgs TEXT NOT NULL DEFAULT ''")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened explicitly, never implicitly.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        conn.execute(f"PRAGMA synchronous = {self._sync}")
        conn.execute("PRAGMA mmap_size = 268435456")  # reads of the main file without a syscall each
        with self._lock:
            self._conns.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's read connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connection(self) -> sqlite3.Connection:
        return self._conn()

    @contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        """An atomic write transaction: committed on success, rolled back on any exception."""
        if self._writing_thread == threading.get_ident():
            raise RuntimeError("nested verify transactions are not supported")
        with self._writes.held():
            self._writing_thread = threading.get_ident()
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield SqliteTx(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                self._writing_thread = None

    def _pairs(self, keys: Sequence[tuple[bytes, str]], start: int) -> tuple[str, list[Any]]:
        params: list[Any] = []
        for i, (nc_hash, postcode) in enumerate(keys, start):
            params += (i, nc_hash, postcode)
        return f"VALUES {','.join(['(?, ?, ?)'] * len(keys))}", params

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        # A connection that did not make the last commit must drop its page cache before reading
        # (several times the cost of a lookup), so borrow the writer's connection when no write is
        # running; otherwise read on this thread's own connection. Inside this thread's own write
        # transaction (the match service judges there), read through it.
        if self._writing_thread == threading.get_ident():
            return self._writer.execute(sql, params).fetchall()
        if self._writes.threads.acquire(blocking=False):
            try:
                return self._writer.execute(sql, params).fetchall()
            finally:
                self._writes.threads.release()
        return self._conn().execute(sql, params).fetchall()

    def audit_rows(self) -> Iterator[AuditRow]:
        """Every audit record in sequence order (streamed)."""
        for row in self._conn().execute(AUDIT_SELECT):
            yield read_audit_row(row)

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
        self._writes.close()
