"""One edit transaction on either engine: the same SQL text, writers serialised, the change log's table made.

Edits are small (a building, a few units) and must be serialised: allocation reads the serials in use and
writes new ones, and the change feed's sequence numbers must be given out in commit order with no gap. SQLite
serialises writers with ``BEGIN IMMEDIATE``; PostgreSQL with a transaction-scoped advisory lock per registry
schema, taken first in every edit transaction. An edit holds the lock for milliseconds.

SQL is written with ``?`` placeholders (SQLite's); the PostgreSQL session turns them into ``%s``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from jinef.common.config import RegistryLocation, RegistryNotFoundError

# The change log. ``record`` is the unit's address after the change, ``before`` the one it replaced (JSON).
_CHANGES_COLUMNS = ("seq {int} PRIMARY KEY, at {text} NOT NULL, kind {text} NOT NULL, postcode {int} NOT NULL, "
                    "unit_id {int}, building_id {int}, record {text} NOT NULL, before {text}, org {text}, "
                    "key_id {int}, reason {text}, note {text}, request_id {text}")
# The office workflow's requests for new buildings (jinef.write.edit.building_requests); JSON in text columns.
_REQUESTS_COLUMNS = ("id {int} PRIMARY KEY, status {text} NOT NULL, province_code {text} NOT NULL, "
                     "applicant {text} NOT NULL, request {text} NOT NULL, survey {text}, steps {text} NOT NULL, "
                     "building_id {int}, postcodes {text}, updated {text} NOT NULL")
_SETUP = (
    "CREATE TABLE IF NOT EXISTS changes ({columns})",
    "CREATE TABLE IF NOT EXISTS building_requests ({requests})",
    "CREATE INDEX IF NOT EXISTS building_requests_queue ON building_requests(province_code, status)",
    # Postcodes a replaced registry had retired (jinef.write.store.retired): allocation never gives them again.
    "CREATE TABLE IF NOT EXISTS retired_postcodes (postcode {int} PRIMARY KEY, retired TEXT)",
    "CREATE INDEX IF NOT EXISTS changes_postcode ON changes(postcode)",
    # Allocation looks for the neighbours of a new building on its street.
    "CREATE INDEX IF NOT EXISTS buildings_last_thoroughfare ON buildings(last_thoroughfare_id)",
)


class EditSession(Protocol):
    """An open edit transaction."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        ...

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        ...


class EditStore(Protocol):
    """Where edits go: opens serialised transactions on one registry."""

    def transaction(self) -> Any:
        """A context manager giving an :class:`EditSession`; commits on success, rolls back on error."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class DbSession:
    """An :class:`EditSession` over any DB-API connection: ``?`` placeholders become the engine's own."""

    def __init__(self, conn: Any, param: str = "?") -> None:
        self.conn = conn
        self.param = param

    def _sql(self, sql: str) -> str:
        return sql if self.param == "?" else sql.replace("?", self.param)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (none for a statement that returns none)."""
        cur = self.conn.execute(self._sql(sql), tuple(params))
        return cur.fetchall() if cur.description else []

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self.conn.execute(self._sql(sql), tuple(params))

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        self.conn.cursor().executemany(self._sql(sql), [tuple(p) for p in params])


class SqliteEditStore:
    """Edits of a SQLite registry file (any process may hold one; writers wait for each other)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise RegistryNotFoundError(f"no registry at {path}: build one with `jinef build` or `jinef import`")
        self.path = path
        self._connect()

    def _connect(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=30000")
        # A replacing build, import or rollback renames another file over the registry: this connection would
        # then edit the file that was replaced. The file's identity is checked before every edit.
        self._file = _identity(self.path)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SETUP:
                self.conn.execute(statement.format(columns=_CHANGES_COLUMNS.format(int="INTEGER", text="TEXT"),
                                                   requests=_REQUESTS_COLUMNS.format(int="INTEGER", text="TEXT"),
                                                   int="INTEGER"))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[EditSession]:
        """``BEGIN IMMEDIATE``: the write lock from the start, so two allocations never read the same serials."""
        if _identity(self.path) != self._file:
            self.conn.close()
            self._connect()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield DbSession(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


class PostgresEditStore:
    """Edits of a PostgreSQL registry schema (replicas and workers share it; the advisory lock serialises)."""

    def __init__(self, location: str) -> None:
        from psycopg import sql

        from jinef.write.store.postgres.location import parse_location
        from jinef.write.store.postgres.writer import connect, schema_exists

        self.loc = parse_location(location)
        self.conn = connect(self.loc)
        self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.loc.schema)))
        if not schema_exists(self.conn, self.loc.schema):
            self.conn.close()
            raise RegistryNotFoundError(f"no registry in schema {self.loc.schema!r} at {self.loc.redacted}")
        self.conn.commit()

    @contextmanager
    def transaction(self) -> Iterator[EditSession]:
        """One transaction holding the registry's edit lock until it commits."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"jinef:edit:{self.loc.schema}",))
            # The schema may be new since the last edit (a replacing build swaps schemas under the same name).
            row = self.conn.execute("SELECT to_regclass('building_requests')").fetchone()
            if row is None or row[0] is None:
                for statement in _SETUP:
                    self.conn.execute(statement.format(
                        columns=_CHANGES_COLUMNS.format(int="BIGINT", text='TEXT COLLATE "C"'),
                        requests=_REQUESTS_COLUMNS.format(int="BIGINT", text='TEXT COLLATE "C"'), int="BIGINT"))
            yield DbSession(self.conn, "%s")

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()


def open_edit_store(location: RegistryLocation | str | Path | None = None) -> EditStore:
    """An :class:`EditStore` for the registry at ``location``."""
    loc = RegistryLocation.of(location)
    if loc.is_postgres:
        return PostgresEditStore(loc.target)
    return SqliteEditStore(loc.path)
