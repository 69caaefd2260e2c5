"""SQLite engine of :class:`jinef.read.verify.store.VerifyStore`: the ``verify_*`` tables in the hub's own file.

The file is ``jinef.common.config.verify_db_path(registry)`` (``var/registry.verify.sqlite``), never the
registry itself: rebuilds rename a new registry over the old one, which would lose live state.

WAL mode lets matches read while the audit writer commits. ``durability`` picks the
``synchronous`` setting: ``"full"`` fsyncs the WAL at every commit (a committed audit record
survives power loss); ``"normal"`` fsyncs only at checkpoints (a committed record survives a
crash of the process, but the last commits can be lost if the machine loses power).
Each thread gets its own connection; write transactions are ``BEGIN IMMEDIATE`` so that two
writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from jinef.common.fileperm import create_private
from jinef.common.write_lock import FileWriteLock
from jinef.read.verify.audit import chain_after_head, read_audit_row, ts_text
from jinef.read.verify.store import (
    ACTIVE_STATES,
    OPEN_STATES,
    Alert,
    AuditEntry,
    AuditRow,
    Challenge,
    Link,
    OutboxMessage,
    Seen,
    StaleKeyVersion,
    State,
    VerifiedLink,
)

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

# Every column that holds a keyed hash: rotation re-keys exactly these.
HASH_COLUMNS: dict[str, tuple[str, ...]] = {
    "verify_link": ("nc_hash", "mobile_hash", "code_hash"),
    "verify_challenge": ("nc_hash", "mobile_hash", "code_hash"),
}

LINK_COLUMNS = (
    "id, nc_hash, mobile_hash, postcode, role, state, requested_at, updated_at, code_hash, "
    "code_expires_at, tries, sends, code_sent_at, visited_at, agent, verified_at, closed_at, reason"
)
_LOOKUP_CHUNK = 256  # pairs per lookup statement (3 parameters each, well under SQLite's limit)
_OPEN_PLACEHOLDERS = ",".join("?" * len(OPEN_STATES))
_ACTIVE_PLACEHOLDERS = ",".join("?" * len(ACTIVE_STATES))


def _ts(value: datetime | None) -> str | None:
    # One fixed UTC format, so that text order is time order.
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt_req(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _link(row: sqlite3.Row | tuple[Any, ...]) -> Link:
    return Link(
        id=row[0],
        nc_hash=row[1],
        mobile_hash=row[2],
        postcode=row[3],
        role=row[4],
        state=row[5],
        requested_at=_dt_req(row[6]),
        updated_at=_dt_req(row[7]),
        code_hash=row[8],
        code_expires_at=_dt(row[9]),
        tries=row[10],
        sends=row[11],
        code_sent_at=_dt(row[12]),
        visited_at=_dt(row[13]),
        agent=row[14],
        verified_at=_dt(row[15]),
        closed_at=_dt(row[16]),
        reason=row[17],
    )


def _link_params(link: Link) -> tuple[Any, ...]:
    return (
        link.id,
        link.nc_hash,
        link.mobile_hash,
        link.postcode,
        link.role,
        str(link.state),
        _ts(link.requested_at),
        _ts(link.updated_at),
        link.code_hash,
        _ts(link.code_expires_at),
        link.tries,
        link.sends,
        _ts(link.code_sent_at),
        _ts(link.visited_at),
        link.agent,
        _ts(link.verified_at),
        _ts(link.closed_at),
        link.reason,
    )


def _challenge(row: tuple[Any, ...]) -> Challenge:
    return Challenge(
        id=row[0],
        nc_hash=row[1],
        mobile_hash=row[2],
        code_hash=row[3],
        created_at=_dt_req(row[4]),
        expires_at=_dt_req(row[5]),
        tries=row[6],
        state=row[7],
    )


def _key_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM verify_meta WHERE name = 'key_version'").fetchone()
    return int(row[0]) if row else 0


_REMOVED = "(removed: written in clear by an older version)"
_ALERT_SELECT = (
    "SELECT id, ts, org, kind, subject, distinct_count, window_seconds, blocked_until, orgs FROM verify_alert"
)


def _alert(r: Sequence[Any]) -> Alert:
    orgs = tuple(o for o in str(r[8]).split(",") if o) or (r[2],)
    return Alert(r[0], _dt_req(r[1]), r[2], r[3], r[4], r[5], r[6], _dt_req(r[7]), orgs)


class SqliteTx:
    """The operations of one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def check_key_version(self, version: int) -> None:
        """Raise StaleKeyVersion unless the database is keyed with ``version``."""
        current = _key_version(self._c)
        if current != version:
            raise StaleKeyVersion(current)

    def insert_link(self, link: Link) -> None:
        """Store a new request."""
        self._c.execute(
            f"INSERT INTO verify_link ({LINK_COLUMNS}) VALUES ({','.join('?' * 18)})", _link_params(link)
        )

    def get_link(self, link_id: str) -> Link | None:
        """One request (the write lock is already held)."""
        row = self._c.execute(f"SELECT {LINK_COLUMNS} FROM verify_link WHERE id = ?", (link_id,)).fetchone()
        return _link(row) if row else None

    def update_link(self, link: Link) -> None:
        """Write every field of a request."""
        params = _link_params(link)
        cols = [c.strip() for c in LINK_COLUMNS.split(",")][1:]
        sets = ", ".join(f"{c} = ?" for c in cols)
        self._c.execute(f"UPDATE verify_link SET {sets} WHERE id = ?", (*params[1:], params[0]))

    def count_active(
        self,
        *,
        nc_hash: bytes | None = None,
        postcode: str | None = None,
        role: str | None = None,
        verified_only: bool = False,
    ) -> int:
        """How many open or verified links (only verified ones with ``verified_only``) match every given filter."""
        where = ["state = ?"] if verified_only else [f"state IN ({_ACTIVE_PLACEHOLDERS})"]
        params: list[Any] = [State.VERIFIED.value] if verified_only else list(ACTIVE_STATES)
        for col, value in (("nc_hash", nc_hash), ("postcode", postcode), ("role", role)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        row = self._c.execute(
            f"SELECT COUNT(*) FROM verify_link WHERE {' AND '.join(where)}", params
        ).fetchone()
        return int(row[0])

    def count_requests(self, mobile_hash: bytes, since: datetime) -> int:
        """Requests opened with this mobile since ``since``."""
        row = self._c.execute(
            "SELECT COUNT(*) FROM verify_link WHERE mobile_hash = ? AND requested_at >= ?", (mobile_hash, _ts(since))
        ).fetchone()
        return int(row[0])

    def due_links(self, now: datetime) -> list[Link]:
        """Open requests whose code expired before ``now``."""
        rows = self._c.execute(
            f"SELECT {LINK_COLUMNS} FROM verify_link "
            f"WHERE state IN ({_OPEN_PLACEHOLDERS}) AND code_expires_at < ?",
            (*OPEN_STATES, _ts(now)),
        ).fetchall()
        return [_link(r) for r in rows]

    def verified_links_of(self, nc_hash: bytes, mobile_hash: bytes) -> list[Link]:
        """Verified links registered with this national code and this mobile."""
        rows = self._c.execute(
            f"SELECT {LINK_COLUMNS} FROM verify_link "
            "WHERE nc_hash = ? AND mobile_hash = ? AND state = ? ORDER BY verified_at",
            (nc_hash, mobile_hash, State.VERIFIED.value),
        ).fetchall()
        return [_link(r) for r in rows]

    def insert_challenge(self, challenge: Challenge) -> None:
        """Store a new citizen challenge."""
        c = challenge
        self._c.execute(
            "INSERT INTO verify_challenge (id, nc_hash, mobile_hash, code_hash, created_at, expires_at, "
            "tries, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                c.id,
                c.nc_hash,
                c.mobile_hash,
                c.code_hash,
                _ts(c.created_at),
                _ts(c.expires_at),
                c.tries,
                str(c.state),
            ),
        )

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        """One challenge (the write lock is already held)."""
        row = self._c.execute(
            "SELECT id, nc_hash, mobile_hash, code_hash, created_at, expires_at, tries, state "
            "FROM verify_challenge WHERE id = ?",
            (challenge_id,),
        ).fetchone()
        return _challenge(row) if row else None

    def update_challenge(self, challenge: Challenge) -> None:
        """Write a challenge's tries and state."""
        self._c.execute(
            "UPDATE verify_challenge SET tries = ?, state = ? WHERE id = ?",
            (challenge.tries, str(challenge.state), challenge.id),
        )

    def count_challenges(self, mobile_hash: bytes, since: datetime) -> int:
        """Challenges created for this mobile since ``since``."""
        row = self._c.execute(
            "SELECT COUNT(*) FROM verify_challenge WHERE mobile_hash = ? AND created_at >= ?",
            (mobile_hash, _ts(since)),
        ).fetchone()
        return int(row[0])

    def add_outbox(self, message: OutboxMessage) -> None:
        """Append an SMS to the development outbox."""
        m = message
        self._c.execute(
            "INSERT INTO verify_outbox (created_at, recipient, kind, ref, body) VALUES (?, ?, ?, ?, ?)",
            (_ts(m.created_at), m.recipient, m.kind, m.ref, m.body),
        )

    def append_audit(self, entries: Sequence[AuditEntry]) -> list[AuditRow]:
        """Chain and append audit records after the current head, and move the head."""
        if not entries:
            return []
        head_row = self._c.execute("SELECT seq, hash FROM verify_audit_head WHERE id = 1").fetchone()
        rows = chain_after_head(entries, (head_row[0], head_row[1]) if head_row else None, self._last_audit)
        self._c.executemany(
            "INSERT INTO verify_audit (seq, ts, org, action, purpose, outcome, trace_id, subject, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.seq,
                    ts_text(r.entry.ts),
                    r.entry.org,
                    r.entry.action,
                    r.entry.purpose,
                    r.entry.outcome,
                    r.entry.trace_id,
                    r.entry.subject,
                    r.prev_hash,
                    r.hash,
                )
                for r in rows
            ],
        )
        if rows:
            last = rows[-1]
            self._c.execute(
                "INSERT INTO verify_audit_head (id, seq, hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (last.seq, last.hash),
            )
        return rows

    def _last_audit(self) -> tuple[int, bytes] | None:
        row = self._c.execute("SELECT seq, hash FROM verify_audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else None

    def add_alert(self, alert: Alert) -> int:
        """Record an enumeration alert; returns its id."""
        a = alert
        cur = self._c.execute(
            "INSERT INTO verify_alert (ts, org, kind, subject, distinct_count, window_seconds, "
            "blocked_until, orgs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_ts(a.ts), a.org, a.kind, a.subject, a.distinct_count, a.window_seconds, _ts(a.blocked_until),
             ",".join(a.orgs or (a.org,))),
        )
        return int(cur.lastrowid or 0)

    def add_seen(self, seen: Sequence[Seen]) -> int:
        """Record counted match queries; returns the id of the last record written (or already there)."""
        if seen:
            self._c.executemany("INSERT INTO verify_seen (ts, org, postcode, code) VALUES (?, ?, ?, ?)",
                                [(x.ts.timestamp(), x.org, x.postcode, x.code) for x in seen])
        return int(self._c.execute("SELECT COALESCE(MAX(id), 0) FROM verify_seen").fetchone()[0])

    def seen_after(self, after: int, since: datetime) -> tuple[list[Seen], int]:
        """Counted queries with an id above ``after`` and a time from ``since`` on, and the highest id."""
        rows = self._c.execute("SELECT id, ts, org, postcode, code FROM verify_seen WHERE id > ? ORDER BY id",
                               (after,)).fetchall()
        last = rows[-1][0] if rows else after
        floor = since.timestamp()
        return [Seen(datetime.fromtimestamp(r[1], UTC), r[2], r[3], r[4]) for r in rows if r[1] >= floor], int(last)

    def alerts_after(self, after: int) -> tuple[list[Alert], int]:
        """Alerts with an id above ``after``, and the highest id."""
        rows = self._c.execute(_ALERT_SELECT + " WHERE id > ? ORDER BY id", (after,)).fetchall()
        return [_alert(r) for r in rows], int(rows[-1][0]) if rows else after

    def forget_seen(self, before: datetime) -> None:
        """Drop counted queries older than the detector's window."""
        # Rows are in time order: the first one young enough marks where to cut (a scan of what goes anyway).
        self._c.execute("DELETE FROM verify_seen WHERE id < COALESCE((SELECT id FROM verify_seen WHERE ts >= ? "
                        "ORDER BY id LIMIT 1), (SELECT MAX(id) + 1 FROM verify_seen))", (before.timestamp(),))


class SqliteVerifyStore:
    """The hub's tables in one SQLite file (normally the registry database)."""

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

    def key_state(self) -> tuple[int, dict[int, str]]:
        """The key version of the data (0 when fresh) and the stored check value of each version."""
        rows = self._conn().execute("SELECT name, value FROM verify_meta WHERE name LIKE 'key_%'").fetchall()
        meta = dict(rows)
        version = int(meta.get("key_version", 0))
        checks = {int(k.split(".", 1)[1]): v for k, v in meta.items() if k.startswith("key_check.")}
        return version, checks

    def init_keys(self, version: int, checks: dict[int, str]) -> None:
        """Record the key version and check values of a fresh database (no-op if already set)."""
        with self.transaction() as tx:
            if _key_version(tx._c) != 0:
                return
            self._write_key_meta(tx._c, version, checks)

    @staticmethod
    def _write_key_meta(conn: sqlite3.Connection, version: int, checks: dict[int, str]) -> None:
        items = [("key_version", str(version))] + [(f"key_check.{v}", c) for v, c in checks.items()]
        conn.executemany(
            "INSERT INTO verify_meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            items,
        )

    def rewrap(
        self,
        from_version: int,
        to_version: int,
        step: Callable[[bytes], bytes],
        checks: dict[int, str],
        audit: Sequence[AuditEntry] = (),
    ) -> int:
        """Re-key every stored hash with ``step``, bump the version, append ``audit``: one transaction."""
        count = 0
        with self.transaction() as tx:
            tx.check_key_version(from_version)
            conn = tx._c
            for table, columns in HASH_COLUMNS.items():
                rows = conn.execute(f"SELECT id, {', '.join(columns)} FROM {table}").fetchall()
                updates = []
                for row in rows:
                    values = [None if v is None else step(v) for v in row[1:]]
                    count += sum(v is not None for v in values)
                    updates.append((*values, row[0]))
                sets = ", ".join(f"{c} = ?" for c in columns)
                conn.executemany(f"UPDATE {table} SET {sets} WHERE id = ?", updates)
            self._write_key_meta(conn, to_version, checks)
            tx.append_audit(audit)
        return count

    def find_verified(self, keys: Sequence[tuple[bytes, str]], key_version: int) -> list[list[VerifiedLink]]:
        """Verified links for each pair, in order: one statement per chunk, reading the key version too."""
        found: list[list[VerifiedLink]] = [[] for _ in keys]
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            params: list[Any] = []
            for i, (nc_hash, postcode) in enumerate(chunk, start):
                params += (i, nc_hash, postcode)
            sql = (
                f"WITH q (i, nc_hash, postcode) AS (VALUES {','.join(['(?, ?, ?)'] * len(chunk))}) "
                "SELECT -1, value, NULL FROM verify_meta WHERE name = 'key_version' "
                "UNION ALL "
                "SELECT q.i, l.role, l.verified_at FROM q JOIN verify_link l "
                "ON l.nc_hash = q.nc_hash AND l.postcode = q.postcode AND l.state = 'verified'"
            )
            rows = self._read(sql, params)
            current = next((int(r[1]) for r in rows if r[0] == -1), 0)
            if current != key_version:
                raise StaleKeyVersion(current)
            for i, role, verified_at in rows:
                if i >= 0:
                    found[i].append(VerifiedLink(role, datetime.fromisoformat(verified_at)))
        return found

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

    def get_link(self, link_id: str) -> Link | None:
        """One request, read outside any transaction."""
        row = (
            self._conn()
            .execute(f"SELECT {LINK_COLUMNS} FROM verify_link WHERE id = ?", (link_id,))
            .fetchone()
        )
        return _link(row) if row else None

    def clear_unsealed_outbox(self) -> int:
        """Blank outbox texts an older version stored in clear (they hold one-time codes); returns how many."""
        with self.transaction() as tx:
            cur = tx._c.execute("UPDATE verify_outbox SET body = ? WHERE body NOT LIKE 'sealed:%' AND body != ?",
                                (_REMOVED, _REMOVED))
        return cur.rowcount

    def outbox(self, limit: int = 50, ref: str | None = None) -> list[OutboxMessage]:
        """The newest development-outbox messages, optionally for one request or challenge."""
        sql = "SELECT id, created_at, recipient, kind, ref, body FROM verify_outbox"
        params: list[Any] = []
        if ref is not None:
            sql += " WHERE ref = ?"
            params.append(ref)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = self._conn().execute(sql, params).fetchall()
        return [OutboxMessage(r[0], _dt_req(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def audit_rows(self) -> Iterator[AuditRow]:
        """Every audit record in sequence order (streamed)."""
        cur = self._conn().execute(
            "SELECT seq, ts, org, action, purpose, outcome, trace_id, subject, prev_hash, hash "
            "FROM verify_audit ORDER BY seq"
        )
        for row in cur:
            yield read_audit_row(row)

    def audit_head(self) -> tuple[int, bytes] | None:
        """The stored anchor: sequence number and hash of the last record appended."""
        row = self._conn().execute("SELECT seq, hash FROM verify_audit_head WHERE id = 1").fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def alerts(self, since: datetime | None = None) -> list[Alert]:
        """Enumeration alerts, newest first."""
        sql = _ALERT_SELECT
        params: list[Any] = []
        if since is not None:
            sql += " WHERE ts >= ?"
            params.append(_ts(since))
        rows = self._conn().execute(sql + " ORDER BY id DESC", params).fetchall()
        return [_alert(r) for r in rows]

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
        self._writes.close()
