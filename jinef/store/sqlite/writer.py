"""Bulk loading into a SQLite registry file, atomically.

``replace`` builds a complete new file beside the target and renames it over the target only
when it is complete, so readers (and a killed build) always see the old registry or the new one,
never half of one. ``append`` adds rows in one transaction of the existing file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from jinef.store.sqlite.schema import INDEXES, SCHEMA_VERSION, create_table_sql, insert_sql
from jinef.store.tables import TABLES


class SqliteWriter:
    """A :class:`jinef.store.base.RegistryWriter` for one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], mode: Literal["replace", "append"] = "replace") -> None:
        self.path = Path(path)
        self.mode = mode
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "replace":
            self.work_path = self.path.with_name(f".{self.path.name}.building-{os.getpid()}")
            for suffix in ("", "-journal"):
                Path(str(self.work_path) + suffix).unlink(missing_ok=True)
        else:
            if not self.path.exists():
                raise FileNotFoundError(f"no registry at {self.path} to append to (build or import one first)")
            self.work_path = self.path
        self.conn = sqlite3.connect(self.work_path, isolation_level=None)
        if mode == "replace":
            # The new file is private until renamed: no need for a durable journal while filling it.
            self.conn.execute("PRAGMA journal_mode=OFF")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA page_size=8192")
        self.conn.execute("PRAGMA cache_size=-200000")
        self.conn.execute("BEGIN")
        for table in TABLES:
            self.conn.execute(create_table_sql(table))
        self._insert = {t: insert_sql(t) for t in TABLES}
        self._open = True

    def add(self, table: str, rows: Iterable[tuple[Any, ...]], columns: Sequence[str] | None = None) -> None:
        """Append rows (tuples in the table's column order, or in ``columns`` with defaults for the rest)."""
        if columns is None:
            self.conn.executemany(self._insert[table], rows)
        else:
            bad = [c for c in columns if c not in TABLES[table]]
            if bad:
                raise ValueError(f"unknown columns {bad} for table {table!r}")
            self.conn.executemany(insert_sql(table, tuple(columns)), rows)

    def max_id(self, table: str) -> int:
        """Largest id already in an id-keyed table (0 when empty)."""
        row = self.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()
        return int(row[0])

    def existing_postcodes(self, postcodes: Sequence[int]) -> set[int]:
        """Which of these postcodes the registry already holds (any status)."""
        found: set[int] = set()
        for i in range(0, len(postcodes), 500):
            chunk = list(postcodes[i : i + 500])
            q = f"SELECT postcode FROM units WHERE postcode IN ({','.join('?' * len(chunk))})"
            found.update(r[0] for r in self.conn.execute(q, chunk))
        return found

    def lookup_ids(self, table: str, key_columns: Sequence[str]) -> dict[tuple[Any, ...], int]:
        """Map of key column values to id, for reusing existing rows on append."""
        q = f"SELECT id, {', '.join(key_columns)} FROM {table}"
        return {tuple(r[1:]): int(r[0]) for r in self.conn.execute(q)}

    def commit(self) -> None:
        """Index, then publish atomically."""
        if not self._open:
            raise RuntimeError("writer already closed")
        for ddl in INDEXES:
            self.conn.execute(ddl)
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        self.conn.execute("COMMIT")
        self._open = False
        if self.mode == "replace":
            self.conn.execute("PRAGMA journal_mode=DELETE")
            # Sampled statistics: enough for the planner, seconds cheaper than a full ANALYZE at national scale.
            self.conn.execute("PRAGMA analysis_limit=1000")
            self.conn.execute("ANALYZE")
            self.conn.close()
            fd = os.open(self.work_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self.work_path, self.path)
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        else:
            self.conn.close()

    def abort(self) -> None:
        """Drop everything added; the registry stays as it was."""
        if not self._open:
            return
        self._open = False
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self.conn.close()
        if self.mode == "replace":
            self.work_path.unlink(missing_ok=True)

    def __enter__(self) -> SqliteWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._open:
            self.commit()
