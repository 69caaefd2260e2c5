"""The verification hub's queries, written once for both engines (``sqlite_store.py``, ``postgres_store.py``).

Every statement here uses ``?`` placeholders and runs through an engine's ``_execute`` (PostgreSQL's spells it
with :func:`jinef.common.sql_params.postgres_sql`). The engines keep what really differs: connections, DDL,
how a write transaction is serialised (SQLite ``BEGIN IMMEDIATE`` and a file lock, PostgreSQL an advisory
lock), how times are stored (ISO text, ``timestamptz``), how many counted queries go in at once, how pairs
reach the match lookup, and how the audit log is streamed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, ClassVar

from jinef.common.sql_params import Cursor
from jinef.read.verify.audit import chain_after_head, ts_text
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

# Every column that holds a keyed hash: rotation re-keys exactly these.
HASH_COLUMNS: dict[str, tuple[str, ...]] = {
    "verify_link": ("nc_hash", "mobile_hash", "code_hash"),
    "verify_challenge": ("nc_hash", "mobile_hash", "code_hash"),
}

LINK_COLUMNS = (
    "id, nc_hash, mobile_hash, postcode, role, state, requested_at, updated_at, code_hash, "
    "code_expires_at, tries, sends, code_sent_at, visited_at, agent, verified_at, closed_at, reason"
)
_LINK_FIELDS = [c.strip() for c in LINK_COLUMNS.split(",")]
_CHALLENGE_COLUMNS = "id, nc_hash, mobile_hash, code_hash, created_at, expires_at, tries, state"
_ALERT_SELECT = (
    "SELECT id, ts, org, kind, subject, distinct_count, window_seconds, blocked_until, orgs FROM verify_alert"
)
AUDIT_SELECT = (
    "SELECT seq, ts, org, action, purpose, outcome, trace_id, subject, prev_hash, hash FROM verify_audit ORDER BY seq"
)
_REMOVED = "(removed: written in clear by an older version)"
# The match lookup, given the engine's source of numbered pairs q (i, nc_hash, postcode); the key version comes
# back in the same statement (row -1), so the answer and the version it was hashed under are one snapshot.
VERIFIED_SQL = (
    "WITH q (i, nc_hash, postcode) AS ({pairs}) "
    "SELECT -1, value, NULL FROM verify_meta WHERE name = 'key_version' "
    "UNION ALL "
    "SELECT q.i, l.role, l.verified_at FROM q JOIN verify_link l "
    "ON l.nc_hash = q.nc_hash AND l.postcode = q.postcode AND l.state = 'verified'"
)


def marks(count: int) -> str:
    """``count`` placeholders, comma-separated."""
    return ", ".join("?" * count)


class VerifySql(ABC):
    """The hooks every shared statement runs through, and the row ↔ record conversions both engines share."""

    @abstractmethod
    def _execute(self, query: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement written with ``?`` placeholders."""

    @abstractmethod
    def _execute_many(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""

    @staticmethod
    @abstractmethod
    def _time_param(value: datetime) -> Any:
        """A time as this engine stores it."""

    @staticmethod
    @abstractmethod
    def _time_value(value: Any) -> datetime:
        """A stored time as an aware datetime."""

    def _maybe_time_param(self, value: datetime | None) -> Any:
        return None if value is None else self._time_param(value)

    def _maybe_time(self, value: Any) -> datetime | None:
        return None if value is None else self._time_value(value)

    def _count(self, query: str, params: Sequence[Any] = ()) -> int:
        row = self._execute(query, params).fetchone()
        return int(row[0]) if row else 0

    def _key_version(self) -> int:
        row = self._execute("SELECT value FROM verify_meta WHERE name = 'key_version'").fetchone()
        return int(row[0]) if row else 0

    def _link(self, row: Sequence[Any]) -> Link:
        t = self._maybe_time
        return Link(row[0], row[1], row[2], row[3], row[4], row[5], self._time_value(row[6]),
                    self._time_value(row[7]), row[8], t(row[9]), row[10], row[11], t(row[12]), t(row[13]), row[14],
                    t(row[15]), t(row[16]), row[17])

    def _link_params(self, link: Link) -> tuple[Any, ...]:
        t = self._maybe_time_param
        return (link.id, link.nc_hash, link.mobile_hash, link.postcode, link.role, str(link.state),
                t(link.requested_at), t(link.updated_at), link.code_hash, t(link.code_expires_at), link.tries,
                link.sends, t(link.code_sent_at), t(link.visited_at), link.agent, t(link.verified_at),
                t(link.closed_at), link.reason)

    def _challenge(self, row: Sequence[Any]) -> Challenge:
        return Challenge(row[0], row[1], row[2], row[3], self._time_value(row[4]), self._time_value(row[5]),
                         row[6], row[7])

    def _alert(self, row: Sequence[Any]) -> Alert:
        orgs = tuple(o for o in str(row[8]).split(",") if o) or (row[2],)
        return Alert(row[0], self._time_value(row[1]), row[2], row[3], row[4], row[5], row[6],
                     self._time_value(row[7]), orgs)


class SqlTx(VerifySql):
    """The operations of one write transaction (the engine has already serialised it against every other)."""

    @abstractmethod
    def _insert_seen(self, seen: Sequence[Seen]) -> None:
        """Append counted match queries (at least one) in id order."""

    def check_key_version(self, version: int) -> None:
        """Raise StaleKeyVersion unless the database is keyed with ``version``."""
        current = self._key_version()
        if current != version:
            raise StaleKeyVersion(current)

    def insert_link(self, link: Link) -> None:
        """Store a new request."""
        self._execute(f"INSERT INTO verify_link ({LINK_COLUMNS}) VALUES ({marks(len(_LINK_FIELDS))})",
                      self._link_params(link))

    def get_link(self, link_id: str) -> Link | None:
        """One request (the write lock is already held)."""
        row = self._execute(f"SELECT {LINK_COLUMNS} FROM verify_link WHERE id = ?", (link_id,)).fetchone()
        return self._link(row) if row else None

    def update_link(self, link: Link) -> None:
        """Write every field of a request."""
        params = self._link_params(link)
        sets = ", ".join(f"{c} = ?" for c in _LINK_FIELDS[1:])
        self._execute(f"UPDATE verify_link SET {sets} WHERE id = ?", (*params[1:], params[0]))

    def count_active(self, *, nc_hash: bytes | None = None, postcode: str | None = None, role: str | None = None,
                     verified_only: bool = False) -> int:
        """How many open or verified links (only verified ones with ``verified_only``) match every given filter."""
        states = [State.VERIFIED.value] if verified_only else [str(s) for s in ACTIVE_STATES]
        where = [f"state IN ({marks(len(states))})"]
        params: list[Any] = list(states)
        for col, value in (("nc_hash", nc_hash), ("postcode", postcode), ("role", role)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        return self._count(f"SELECT COUNT(*) FROM verify_link WHERE {' AND '.join(where)}", params)

    def count_requests(self, mobile_hash: bytes, since: datetime) -> int:
        """Requests opened with this mobile since ``since``."""
        return self._count("SELECT COUNT(*) FROM verify_link WHERE mobile_hash = ? AND requested_at >= ?",
                           (mobile_hash, self._time_param(since)))

    def due_links(self, now: datetime) -> list[Link]:
        """Open requests whose code expired before ``now``."""
        rows = self._execute(
            f"SELECT {LINK_COLUMNS} FROM verify_link WHERE state IN ({marks(len(OPEN_STATES))}) "
            "AND code_expires_at < ?", (*[str(s) for s in OPEN_STATES], self._time_param(now))).fetchall()
        return [self._link(r) for r in rows]

    def verified_links_of(self, nc_hash: bytes, mobile_hash: bytes) -> list[Link]:
        """Verified links registered with this national code and this mobile."""
        rows = self._execute(
            f"SELECT {LINK_COLUMNS} FROM verify_link WHERE nc_hash = ? AND mobile_hash = ? AND state = ? "
            "ORDER BY verified_at", (nc_hash, mobile_hash, State.VERIFIED.value)).fetchall()
        return [self._link(r) for r in rows]

    def insert_challenge(self, challenge: Challenge) -> None:
        """Store a new citizen challenge."""
        c = challenge
        self._execute(f"INSERT INTO verify_challenge ({_CHALLENGE_COLUMNS}) VALUES ({marks(8)})",
                      (c.id, c.nc_hash, c.mobile_hash, c.code_hash, self._time_param(c.created_at),
                       self._time_param(c.expires_at), c.tries, str(c.state)))

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        """One challenge (the write lock is already held)."""
        row = self._execute(f"SELECT {_CHALLENGE_COLUMNS} FROM verify_challenge WHERE id = ?",
                            (challenge_id,)).fetchone()
        return self._challenge(row) if row else None

    def update_challenge(self, challenge: Challenge) -> None:
        """Write a challenge's tries and state."""
        self._execute("UPDATE verify_challenge SET tries = ?, state = ? WHERE id = ?",
                      (challenge.tries, str(challenge.state), challenge.id))

    def count_challenges(self, mobile_hash: bytes, since: datetime) -> int:
        """Challenges created for this mobile since ``since``."""
        return self._count("SELECT COUNT(*) FROM verify_challenge WHERE mobile_hash = ? AND created_at >= ?",
                           (mobile_hash, self._time_param(since)))

    def add_outbox(self, message: OutboxMessage) -> None:
        """Append an SMS to the development outbox."""
        m = message
        self._execute("INSERT INTO verify_outbox (created_at, recipient, kind, ref, body) VALUES (?, ?, ?, ?, ?)",
                      (self._time_param(m.created_at), m.recipient, m.kind, m.ref, m.body))

    def append_audit(self, entries: Sequence[AuditEntry]) -> list[AuditRow]:
        """Chain and append audit records after the current head, and move the head."""
        if not entries:
            return []
        head = self._execute("SELECT seq, hash FROM verify_audit_head WHERE id = 1").fetchone()
        rows = chain_after_head(entries, (head[0], head[1]) if head else None, self._last_audit)
        self._execute_many(
            f"INSERT INTO verify_audit (seq, ts, org, action, purpose, outcome, trace_id, subject, prev_hash, hash) "
            f"VALUES ({marks(10)})",
            [(r.seq, ts_text(r.entry.ts), r.entry.org, r.entry.action, r.entry.purpose, r.entry.outcome,
              r.entry.trace_id, r.entry.subject, r.prev_hash, r.hash) for r in rows])
        last = rows[-1]
        self._execute("INSERT INTO verify_audit_head (id, seq, hash) VALUES (1, ?, ?) "
                      "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash", (last.seq, last.hash))
        return rows

    def _last_audit(self) -> tuple[int, bytes] | None:
        row = self._execute("SELECT seq, hash FROM verify_audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def add_alert(self, alert: Alert) -> int:
        """Record an enumeration alert; returns its id."""
        a = alert
        # RETURNING: PostgreSQL has no last row id, and SQLite has taken RETURNING since 3.35.
        row = self._execute(
            f"INSERT INTO verify_alert (ts, org, kind, subject, distinct_count, window_seconds, blocked_until, orgs) "
            f"VALUES ({marks(8)}) RETURNING id",
            (self._time_param(a.ts), a.org, a.kind, a.subject, a.distinct_count, a.window_seconds,
             self._time_param(a.blocked_until), ",".join(a.orgs or (a.org,)))).fetchone()
        return int(row[0]) if row else 0

    def add_seen(self, seen: Sequence[Seen]) -> int:
        """Record counted match queries; returns the id of the last record written (or already there)."""
        if seen:
            self._insert_seen(seen)
        return self._count("SELECT COALESCE(MAX(id), 0) FROM verify_seen")

    def seen_after(self, after: int, since: datetime) -> tuple[list[Seen], int]:
        """Counted queries with an id above ``after`` and a time from ``since`` on, and the highest id."""
        rows = self._execute("SELECT id, ts, org, postcode, code FROM verify_seen WHERE id > ? ORDER BY id",
                             (after,)).fetchall()
        last = rows[-1][0] if rows else after
        floor = since.timestamp()
        return [Seen(datetime.fromtimestamp(r[1], UTC), r[2], r[3], r[4]) for r in rows if r[1] >= floor], int(last)

    def alerts_after(self, after: int) -> tuple[list[Alert], int]:
        """Alerts with an id above ``after``, and the highest id."""
        rows = self._execute(_ALERT_SELECT + " WHERE id > ? ORDER BY id", (after,)).fetchall()
        return [self._alert(r) for r in rows], int(rows[-1][0]) if rows else after

    def forget_seen(self, before: datetime) -> None:
        """Drop counted queries older than the detector's window."""
        # Rows are in time order: the first one young enough marks where to cut (a scan of what goes anyway).
        self._execute("DELETE FROM verify_seen WHERE id < COALESCE((SELECT id FROM verify_seen WHERE ts >= ? "
                      "ORDER BY id LIMIT 1), (SELECT MAX(id) + 1 FROM verify_seen))", (before.timestamp(),))

    def _write_keys(self, version: int, checks: dict[int, str]) -> None:
        items = [("key_version", str(version))] + [(f"key_check.{v}", c) for v, c in checks.items()]
        self._execute_many("INSERT INTO verify_meta (name, value) VALUES (?, ?) "
                           "ON CONFLICT (name) DO UPDATE SET value = excluded.value", items)


class SqlVerifyStore(VerifySql):
    """The store's operations outside a write transaction; ``_execute`` reads on this thread's connection."""

    _LOOKUP_CHUNK: ClassVar[int]  # pairs per match-lookup statement

    @abstractmethod
    def transaction(self) -> AbstractContextManager[SqlTx]:
        """An atomic write transaction: committed on success, rolled back on any exception."""

    @abstractmethod
    def _pairs(self, keys: Sequence[tuple[bytes, str]], start: int) -> tuple[str, list[Any]]:
        """The lookup's source of pairs numbered from ``start`` (a query for :data:`VERIFIED_SQL`), and its
        parameters."""

    @abstractmethod
    def _read(self, query: str, params: Sequence[Any]) -> list[Any]:
        """The rows of one match lookup."""

    def key_state(self) -> tuple[int, dict[int, str]]:
        """The key version of the data (0 when fresh) and the stored check value of each version."""
        rows = self._execute("SELECT name, value FROM verify_meta WHERE name LIKE 'key\\_%' ESCAPE '\\'").fetchall()
        meta = dict(rows)
        version = int(meta.get("key_version", 0))
        checks = {int(k.split(".", 1)[1]): v for k, v in meta.items() if k.startswith("key_check.")}
        return version, checks

    def init_keys(self, version: int, checks: dict[int, str]) -> None:
        """Record the key version and check values of a fresh database (no-op if already set)."""
        with self.transaction() as tx:
            if tx._key_version() != 0:
                return
            tx._write_keys(version, checks)

    def rewrap(self, from_version: int, to_version: int, step: Callable[[bytes], bytes], checks: dict[int, str],
               audit: Sequence[AuditEntry] = ()) -> int:
        """Re-key every stored hash with ``step``, bump the version, append ``audit``: one transaction."""
        count = 0
        with self.transaction() as tx:
            tx.check_key_version(from_version)
            for table, columns in HASH_COLUMNS.items():
                rows = tx._execute(f"SELECT id, {', '.join(columns)} FROM {table}").fetchall()
                updates = []
                for row in rows:
                    values = [None if v is None else step(bytes(v)) for v in row[1:]]
                    count += sum(v is not None for v in values)
                    updates.append((*values, row[0]))
                sets = ", ".join(f"{c} = ?" for c in columns)
                tx._execute_many(f"UPDATE {table} SET {sets} WHERE id = ?", updates)
            tx._write_keys(to_version, checks)
            tx.append_audit(audit)
        return count

    def find_verified(self, keys: Sequence[tuple[bytes, str]], key_version: int) -> list[list[VerifiedLink]]:
        """Verified links for each pair, in order: one statement per chunk, reading the key version too."""
        found: list[list[VerifiedLink]] = [[] for _ in keys]
        for start in range(0, len(keys), self._LOOKUP_CHUNK):
            pairs, params = self._pairs(keys[start : start + self._LOOKUP_CHUNK], start)
            rows = self._read(VERIFIED_SQL.format(pairs=pairs), params)
            current = next((int(r[1]) for r in rows if r[0] == -1), 0)
            if current != key_version:
                raise StaleKeyVersion(current)
            for i, role, verified_at in rows:
                if i >= 0:
                    found[i].append(VerifiedLink(role, self._time_value(verified_at)))
        return found

    def get_link(self, link_id: str) -> Link | None:
        """One request, read outside any transaction."""
        row = self._execute(f"SELECT {LINK_COLUMNS} FROM verify_link WHERE id = ?", (link_id,)).fetchone()
        return self._link(row) if row else None

    def clear_unsealed_outbox(self) -> int:
        """Blank outbox texts an older version stored in clear (they hold one-time codes); returns how many."""
        with self.transaction() as tx:
            cur = tx._execute("UPDATE verify_outbox SET body = ? WHERE body NOT LIKE 'sealed:%' AND body != ?",
                              (_REMOVED, _REMOVED))
        return cur.rowcount

    def outbox(self, limit: int = 50, ref: str | None = None) -> list[OutboxMessage]:
        """The newest development-outbox messages, optionally for one request or challenge."""
        query = "SELECT id, created_at, recipient, kind, ref, body FROM verify_outbox"
        params: list[Any] = []
        if ref is not None:
            query += " WHERE ref = ?"
            params.append(ref)
        rows = self._execute(query + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
        return [OutboxMessage(r[0], self._time_value(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def audit_head(self) -> tuple[int, bytes] | None:
        """The stored anchor: sequence number and hash of the last record appended."""
        row = self._execute("SELECT seq, hash FROM verify_audit_head WHERE id = 1").fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def alerts(self, since: datetime | None = None) -> list[Alert]:
        """Enumeration alerts, newest first."""
        query, params = _ALERT_SELECT, []
        if since is not None:
            query += " WHERE ts >= ?"
            params.append(self._time_param(since))
        rows = self._execute(query + " ORDER BY id DESC", params).fetchall()
        return [self._alert(r) for r in rows]
