"""Bulk loading into a PostgreSQL registry with ``COPY``, atomically.

``replace`` loads a private build schema (``<schema>_build_<pid>_<tag>``), indexes it, then in one
short transaction renames the live schema to ``<schema>_previous`` (dropping an older one; ``jinef
rollback`` swaps it back) and renames the build schema in its place: readers see
the old registry until that commit, and a killed build leaves only its build schema, which the
next build drops. The load commits in steps so a long build does not hold back VACUUM elsewhere.
``append`` adds rows in one transaction of the live schema.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import psycopg
from psycopg import sql

from jinef.image.folder import new_generation
from jinef.write.store.base import RegistryNotFoundError, RegistryReader
from jinef.write.store.postgres.location import PgLocation, parse_location
from jinef.write.store.postgres.schema import SCHEMA_VERSION, create_table, index_statements
from jinef.write.store.retired import carry_retired
from jinef.write.store.tables import TABLES

# Rows held in memory before one COPY per table, and rows between commits of the build schema
# (its content is private until the swap; committing keeps one long transaction from holding back VACUUM).
_BUFFER_ROWS = 50_000
_COMMIT_EVERY = 200_000


def connect(loc: PgLocation, **kw: Any) -> psycopg.Connection[Any]:
    """Connect, turning an unreachable server into a clear :class:`RegistryNotFoundError`."""
    try:
        return psycopg.connect(loc.dsn, **kw)
    except psycopg.OperationalError as exc:
        raise RegistryNotFoundError(f"cannot connect to PostgreSQL at {loc.redacted}: {exc}".strip()) from exc


def _lock_key(name: str) -> str:
    return f"jinef:{name}"


def schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    """Whether the schema holds a registry (its units table exists)."""
    row = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".units',)).fetchone()
    return row is not None and row[0] is not None


def previous_schema(schema: str) -> str:
    """Where the registry a replace took the place of is kept: ``<schema>_previous``."""
    return f"{schema}_previous"


def _namespace_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def swap_previous(location: str) -> None:
    """Make ``<schema>_previous`` the live registry again and keep the replaced one as the previous (rollback),
    in one transaction: readers see one registry or the other."""
    loc = parse_location(location)
    live, previous = loc.schema, previous_schema(loc.schema)
    with connect(loc) as conn:
        conn.execute("SET LOCAL synchronous_commit = on")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_lock_key(live),))  # not during a swap
        if not schema_exists(conn, previous):
            raise RegistryNotFoundError(
                f"no previous registry to roll back to in schema {previous!r} at {loc.redacted} (one is kept by "
                "each `jinef build` or replacing `jinef import`)")
        staged = f"{live}_rollback_{os.getpid()}"
        ids = {k: sql.Identifier(v) for k, v in (("live", live), ("previous", previous), ("staged", staged))}
        if _namespace_exists(conn, live):
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(ids["live"], ids["staged"]))
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(ids["previous"], ids["live"]))
        if _namespace_exists(conn, staged):
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(ids["staged"], ids["previous"]))
        conn.commit()


def drop_abandoned_builds(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """Drop build schemas of ``schema`` whose builder is gone (its session lock is free); return their names."""
    pattern = schema.replace("_", r"\_") + r"\_build\_%"
    names = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (pattern,))]
    dropped = []
    for name in names:
        # A live builder holds this lock for its whole session; the server releases it when the builder dies.
        got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (_lock_key(name),)).fetchone()
        if got and got[0]:
            try:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
                conn.commit()
                dropped.append(name)
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_lock_key(name),))
                conn.commit()
    return dropped


class PostgresWriter:
    """A :class:`jinef.write.store.base.RegistryWriter` for one schema of a PostgreSQL database."""

    def __init__(self, location: str, mode: Literal["replace", "append"] = "replace") -> None:
        self.loc = parse_location(location)
        self.mode = mode
        self.live = self.loc.schema
        self.conn = connect(self.loc)
        self._open = True
        self._since_commit = 0
        self._pending: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        self._buffered = 0
        try:
            if mode == "replace":
                self._start_build()
            else:
                self._start_append()
        except BaseException:
            self.conn.close()
            self._open = False
            raise

    def _start_build(self) -> None:
        # The build schema is worthless until published: no need to wait for WAL flushes while loading.
        self.conn.execute("SET synchronous_commit = off")
        self.conn.commit()
        drop_abandoned_builds(self.conn, self.live)
        self.work = f"{self.live}_build_{os.getpid()}_{secrets.token_hex(3)}"
        # Lock before creating, so no other build ever sees this schema unlocked while we live.
        self.conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (_lock_key(self.work),))
        self.conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.work)))
        for table in TABLES:
            self.conn.execute(create_table(self.work, table))
        self.conn.commit()

    def _start_append(self) -> None:
        if not schema_exists(self.conn, self.live):
            raise RegistryNotFoundError(
                f"no registry in schema {self.live!r} at {self.loc.redacted} to append to (build or import one first)")
        self.work = self.live
        # Appends and swaps of the same registry take turns.
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_lock_key(self.live),))

    def _table(self, table: str) -> sql.Composed:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        return sql.SQL("{}.{}").format(sql.Identifier(self.work), sql.Identifier(table))

    def add(self, table: str, rows: Iterable[tuple[Any, ...]], columns: Sequence[str] | None = None) -> None:
        """Append rows (tuples in the table's column order, or in ``columns`` with defaults for the rest)."""
        cols = tuple(columns) if columns is not None else TABLES[table]
        bad = [c for c in cols if c not in TABLES[table]]
        if bad:
            raise ValueError(f"unknown columns {bad} for table {table!r}")
        col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
        if table == "meta":  # later loads overwrite metadata keys
            upsert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
            q = upsert.format(self._table(table), col_list, sql.SQL(", ").join(sql.Placeholder() * len(cols)))
            with self.conn.cursor() as cur:
                cur.executemany(q, list(rows))
            return
        # Callers add many small batches (one per area job): one COPY per batch would be a round trip each.
        buf = self._pending.setdefault((table, cols), [])
        before = len(buf)
        buf.extend(rows)
        self._buffered += len(buf) - before
        if self._buffered >= _BUFFER_ROWS:
            self._flush()

    def add_columns(self, table: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows given column by column (equal-length sequences; defaults for the table's other columns)."""
        if any(len(v) != len(next(iter(columns.values()))) for v in columns.values()):
            raise ValueError(f"columns for {table} differ in length")
        self.add(table, zip(*columns.values(), strict=True), columns=tuple(columns))

    def _flush(self) -> None:
        """COPY the buffered rows; commit the build schema now and then."""
        n = 0
        for (table, cols), rows in self._pending.items():
            if not rows:
                continue
            col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
            with self.conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    self._table(table), col_list)) as copy:
                for row in rows:
                    copy.write_row(row)
            n += len(rows)
        self._pending.clear()
        self._buffered = 0
        self._since_commit += n
        if self.mode == "replace" and self._since_commit >= _COMMIT_EVERY:
            self.conn.commit()
            self._since_commit = 0

    def max_id(self, table: str) -> int:
        """Largest id already in an id-keyed table (0 when empty)."""
        self._flush()
        row = self.conn.execute(sql.SQL("SELECT COALESCE(MAX(id), 0) FROM {}").format(self._table(table))).fetchone()
        return int(row[0]) if row else 0

    def existing_postcodes(self, postcodes: Sequence[int]) -> set[int]:
        """Which of these postcodes the registry already holds (any status)."""
        self._flush()
        found: set[int] = set()
        q = sql.SQL("SELECT postcode FROM {} WHERE postcode = ANY(%s::bigint[])").format(self._table("units"))
        for i in range(0, len(postcodes), 5000):
            chunk = [int(p) for p in postcodes[i : i + 5000]]
            found.update(r[0] for r in self.conn.execute(q, (chunk,)))
        return found

    def lookup_ids(self, table: str, key_columns: Sequence[str]) -> dict[tuple[Any, ...], int]:
        """Map of key column values to id, for reusing existing rows on append."""
        self._flush()
        q = sql.SQL("SELECT id, {} FROM {}").format(sql.SQL(", ").join(map(sql.Identifier, key_columns)),
                                                     self._table(table))
        return {tuple(r[1:]): int(r[0]) for r in self.conn.execute(q)}

    def commit(self, prepare: Callable[[RegistryReader], None] | None = None) -> None:
        """Index, let ``prepare`` read the finished registry, then publish atomically (nothing if it raises)."""
        if not self._open:
            raise RuntimeError("writer already closed")
        try:
            self._flush()
            self.add("meta", [("schema_version", SCHEMA_VERSION), ("generation", new_generation())])
            if self.mode == "replace":
                for stmt in index_statements(self.work):
                    self.conn.execute(stmt)
                for table in TABLES:
                    self.conn.execute(sql.SQL("ANALYZE {}").format(self._table(table)))
                self.conn.commit()
                if prepare is not None:
                    self._prepare(prepare, self.work)
                self._swap()
            else:
                self.conn.commit()
        except BaseException:
            self.abort()
            raise
        self._open = False
        self.conn.close()
        if prepare is not None and self.mode == "append":
            # The rows are in; the service reads the old image until the new one is published.
            self._prepare(prepare, self.live)

    def _location_of(self, schema: str) -> str:
        dsn = self.loc.dsn
        return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"

    def _prepare(self, prepare: Callable[[RegistryReader], None], schema: str) -> None:
        """Run ``prepare`` on a reader of a committed schema (the build schema before it is published)."""
        from jinef.write.store.postgres.reader import PostgresReader  # the reader imports this module

        reader = PostgresReader(self._location_of(schema))
        try:
            prepare(reader)
        finally:
            reader.close()

    def _swap(self) -> None:
        """Replace the live schema by the build schema in one transaction, keeping the old one as the previous."""
        live, work = sql.Identifier(self.live), sql.Identifier(self.work)
        previous = sql.Identifier(previous_schema(self.live))
        self.conn.execute("SET LOCAL synchronous_commit = on")  # publishing must be durable
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_lock_key(self.live),))
        # No edit between carrying the retired postcodes over and the swap (jinef.write.edit.session's lock).
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"jinef:edit:{self.live}",))
        if schema_exists(self.conn, self.live):
            has = self.conn.execute("SELECT to_regclass(%s)", (f'"{self.live}".retired_postcodes',)).fetchone()
            carry_retired(self.conn.execute, f'"{self.work}"', f'"{self.live}"', bool(has and has[0]), postgres=True)
        if _namespace_exists(self.conn, self.live):
            self.conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(previous))
            self.conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(live, previous))
        self.conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(work, live))
        self.conn.commit()

    def abort(self) -> None:
        """Drop everything added; the registry stays as it was."""
        if not self._open:
            return
        self._open = False
        self._pending.clear()
        try:
            self.conn.rollback()
            if self.mode == "replace":
                self.conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.work)))
                self.conn.commit()
        except psycopg.Error:
            pass  # the build schema stays behind; the next build drops it
        finally:
            self.conn.close()

    def __enter__(self) -> PostgresWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._open:
            self.commit()
