"""Bulk loading into a SQLite registry file, atomically.

``replace`` builds a complete new file beside the target and renames it over the target only
when it is complete, so readers (and a killed build) always see the old registry or the new one,
never half of one. The replaced file is kept as ``<name>.previous`` for ``jinef rollback``.
``append`` adds rows in one transaction of the existing file.

A parallel build may hand ``replace`` its rows as shards: each worker process fills private SQLite
files (no journal, no sync) and the writer appends them in order with ``INSERT INTO … SELECT *``,
which SQLite copies record by record in C without decoding them.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from jinef.common.fileperm import create_private
from jinef.common.processes import process_alive
from jinef.image.folder import new_generation
from jinef.write.store.base import RegistryReader
from jinef.write.store.retired import carry_retired
from jinef.write.store.sqlite.reader import SqliteReader
from jinef.write.store.sqlite.schema import INDEXES, SCHEMA_VERSION, create_table_sql, insert_sql
from jinef.write.store.tables import TABLES

# Rows per INSERT statement: binding many rows per statement step costs SQLite and the sqlite3 module
# about half as much per row as one statement per row.
_BATCH_ROWS = 64
_SHARD_BUFFER_ROWS = 20_000  # rows a shard holds before writing them


@lru_cache(maxsize=64)
def _batch_sql(table: str, columns: tuple[str, ...]) -> str:
    one = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * _BATCH_ROWS)}"


def _add(conn: sqlite3.Connection, table: str, rows: Iterable[tuple[Any, ...]],
         columns: Sequence[str] | None) -> None:
    cols = TABLES[table] if columns is None else tuple(columns)
    bad = [c for c in cols if c not in TABLES[table]]
    if bad:
        raise ValueError(f"unknown columns {bad} for table {table!r}")
    single = insert_sql(table, None if columns is None else cols)
    if table == "meta":  # keys are replaced one by one
        conn.executemany(single, rows)
        return
    rows = rows if isinstance(rows, list) else list(rows)
    full = len(rows) - len(rows) % _BATCH_ROWS
    if full:
        # Flattened rows only line up with the placeholders if every row has every column.
        if set(map(len, rows)) != {len(cols)}:
            raise sqlite3.ProgrammingError(f"rows for {table} must have {len(cols)} values each")
        flat = list(chain.from_iterable(rows[:full]))
        step = _BATCH_ROWS * len(cols)
        conn.executemany(_batch_sql(table, cols), (flat[i : i + step] for i in range(0, len(flat), step)))
    if full < len(rows):
        conn.executemany(single, rows[full:])


def _add_columns(conn: sqlite3.Connection, table: str, columns: Mapping[str, Sequence[Any]]) -> None:
    """Rows given column by column, bound from one flat list: no tuple per row is ever made."""
    cols = tuple(columns)
    bad = [c for c in cols if c not in TABLES[table]]
    if bad or table == "meta":
        raise ValueError(f"cannot add columns {cols} to table {table!r}")
    n = len(columns[cols[0]]) if cols else 0
    if any(len(v) != n for v in columns.values()):
        raise ValueError(f"columns for {table} differ in length")
    k = len(cols)
    flat: list[Any] = [None] * (n * k)
    for i, values in enumerate(columns.values()):
        flat[i::k] = values  # interleaved by slice assignment, in C
    full = n - n % _BATCH_ROWS
    step = _BATCH_ROWS * k
    if full:
        conn.executemany(_batch_sql(table, cols), (flat[i : i + step] for i in range(0, full * k, step)))
    if full < n:
        conn.executemany(insert_sql(table, cols), (flat[i : i + k] for i in range(full * k, n * k, k)))


class SqliteShard:
    """One shard of a parallel build: the registry tables in a private file, filled by one worker."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        create_private(path)  # every database file Jinef creates is 0600
        self.conn = sqlite3.connect(path, isolation_level=None)
        _private_file(self.conn)  # a shard lives only until the writer has merged it
        _begin_with_tables(self.conn)
        self._pending: dict[tuple[str, tuple[str, ...] | None], list[tuple[Any, ...]]] = {}
        self._buffered = 0

    def add(self, table: str, rows: Iterable[tuple[Any, ...]], columns: Sequence[str] | None = None) -> None:
        """Append rows (tuples in the table's column order, or in ``columns`` with defaults for the rest)."""
        # Buffered: callers add a few dozen rows at a time, and only full batches get the many-row statement.
        buf = self._pending.setdefault((table, None if columns is None else tuple(columns)), [])
        before = len(buf)
        buf.extend(rows)
        self._buffered += len(buf) - before
        if self._buffered >= _SHARD_BUFFER_ROWS:
            self._flush()

    def add_columns(self, table: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows given column by column (written at once: they come by the tens of thousands)."""
        _add_columns(self.conn, table, columns)

    def _flush(self) -> None:
        for (table, columns), rows in self._pending.items():
            _add(self.conn, table, rows, columns)
        self._pending.clear()
        self._buffered = 0

    def close(self) -> None:
        """Write the shard out for merging."""
        self._flush()
        self.conn.execute("COMMIT")
        self.conn.close()


@dataclass(frozen=True)
class SqliteShardSet:
    """The folder of a build's shards: ``<index>.sqlite`` each."""

    directory: Path

    def path(self, index: int) -> Path:
        """The file of shard ``index``."""
        return self.directory / f"{index}.sqlite"

    def open(self, index: int) -> SqliteShard:
        """A new, empty shard (in the calling process)."""
        return SqliteShard(self.path(index))


class SqliteWriter:
    """A :class:`jinef.write.store.base.RegistryWriter` for one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], mode: Literal["replace", "append"] = "replace") -> None:
        self.path = Path(path)
        self.mode = mode
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "replace":
            self._remove_abandoned()
            self.work_path = self.path.with_name(f".{self.path.name}.building-{os.getpid()}")
            for suffix in ("", "-journal"):
                Path(str(self.work_path) + suffix).unlink(missing_ok=True)
        else:
            if not self.path.exists():
                raise FileNotFoundError(f"no registry at {self.path} to append to (build or import one first)")
            self.work_path = self.path
        if mode == "replace":
            create_private(self.work_path)  # every database file Jinef creates is 0600
        # One thread at a time, but not always the one that opened it (the importer merges from a thread).
        self.conn = sqlite3.connect(self.work_path, isolation_level=None, check_same_thread=False)
        if mode == "replace":
            _private_file(self.conn)  # the new file is private until renamed
        self.conn.execute("PRAGMA cache_size=-200000")
        _begin_with_tables(self.conn)
        self._open = True
        self._shards: SqliteShardSet | None = None
        self._syncer: threading.Thread | None = None
        self._sync_fd: int | None = None

    def add(self, table: str, rows: Iterable[tuple[Any, ...]], columns: Sequence[str] | None = None) -> None:
        """Append rows (tuples in the table's column order, or in ``columns`` with defaults for the rest)."""
        _add(self.conn, table, rows, columns)

    def add_columns(self, table: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows given column by column (equal-length sequences; defaults for the table's other columns)."""
        _add_columns(self.conn, table, columns)

    def _remove_abandoned(self) -> None:
        """Remove the build files and shard folders that killed builds of this registry left behind (and the
        second names a killed replace or rollback staged)."""
        for kind in ("building", "previous", "rollback"):
            prefix = f".{self.path.name}.{kind}-"
            for leftover in self.path.parent.glob(glob.escape(prefix) + "*"):
                pid = leftover.name[len(prefix):].split(".", 1)[0].split("-", 1)[0]
                if not pid.isdigit() or process_alive(int(pid)):
                    continue  # a build under way (or a name that is not ours): leave it
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)

    def shards(self) -> SqliteShardSet | None:
        """A folder beside the new file for a parallel build's shards (None in append mode)."""
        if self.mode != "replace":
            return None  # merging commits as it goes: only a private new file may do that
        if self._shards is None:
            directory = self.work_path.with_name(f"{self.work_path.name}.shards")
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            self._shards = SqliteShardSet(directory)
        return self._shards

    def merge_shard(self, index: int) -> None:
        """Append every row of the closed shard ``index`` (in its id order), then delete it."""
        if self._shards is None or not self._open:
            raise RuntimeError("no shards to merge: call shards() on an open replace writer first")
        path = self._shards.path(index)
        # ATTACH is refused inside a transaction; committing the private, journal-less file costs nothing.
        self.conn.execute("COMMIT")
        self.conn.execute("ATTACH DATABASE ? AS shard", (str(path),))
        try:
            self.conn.execute("BEGIN")
            for table in TABLES:
                # No column list and no index on the target: SQLite's transfer path copies whole records.
                self.conn.execute(f"INSERT INTO main.{table} SELECT * FROM shard.{table}")
            self.conn.execute("COMMIT")
        finally:
            if self.conn.in_transaction:  # a failed merge: the build is being aborted anyway
                self.conn.execute("ROLLBACK")
            self.conn.execute("DETACH DATABASE shard")
            self.conn.execute("BEGIN")
        path.unlink()
        self._sync_in_background()

    def _sync_in_background(self) -> None:
        """Start writing the merged pages to disk while the workers compute, so the final fsync has little left."""
        if self._syncer is not None and self._syncer.is_alive():
            return
        if self._sync_fd is None:
            self._sync_fd = os.open(self.work_path, os.O_RDONLY)
        self._syncer = threading.Thread(target=os.fdatasync, args=(self._sync_fd,), daemon=True)
        self._syncer.start()

    def _stop_syncing(self) -> None:
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None
        if self._sync_fd is not None:
            os.close(self._sync_fd)
            self._sync_fd = None

    def _drop_shards(self) -> None:
        if self._shards is not None:
            shutil.rmtree(self._shards.directory, ignore_errors=True)
            self._shards = None

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

    def commit(self, prepare: Callable[[RegistryReader], None] | None = None) -> None:
        """Index, let ``prepare`` read the finished registry, then publish atomically (nothing if it raises)."""
        if not self._open:
            raise RuntimeError("writer already closed")
        self._drop_shards()
        self._stop_syncing()
        for ddl in INDEXES:
            self.conn.execute(ddl)
        self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                              [("schema_version", SCHEMA_VERSION), ("generation", new_generation())])
        self.conn.execute("COMMIT")
        self._open = False
        if self.mode == "replace":
            self._carry_retired()
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
            if prepare is not None:
                try:
                    reader = SqliteReader(self.work_path)
                    try:
                        prepare(reader)
                    finally:
                        reader.close()
                except BaseException:
                    self.work_path.unlink(missing_ok=True)
                    raise
            keep_previous(self.path)
            os.replace(self.work_path, self.path)
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        else:
            self.conn.close()
            if prepare is not None:  # the rows are in; the service reads the old image until the new is published
                with SqliteReader(self.path) as reader:
                    prepare(reader)

    def _carry_retired(self) -> None:
        """The replaced registry's retired postcodes into the new file (see :mod:`jinef.write.store.retired`)."""
        if not self.path.is_file():
            return
        self.conn.execute("ATTACH DATABASE ? AS live", (f"file:{self.path.resolve()}?mode=ro",))
        try:
            tables = {r[0] for r in self.conn.execute("SELECT name FROM live.sqlite_master WHERE type = 'table'")}
            if "units" in tables:
                self.conn.execute("BEGIN")
                carry_retired(self.conn.execute, "main", "live", "retired_postcodes" in tables, postgres=False)
                self.conn.execute("COMMIT")
        finally:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.conn.execute("DETACH DATABASE live")

    def abort(self) -> None:
        """Drop everything added; the registry stays as it was."""
        if not self._open:
            return
        self._open = False
        self._drop_shards()
        self._stop_syncing()
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




def previous_path(path: Path) -> Path:
    """Where the registry a replace took the place of is kept: ``<name>.previous`` beside it."""
    return path.with_name(f"{path.name}.previous")


def keep_previous(path: Path) -> None:
    """Keep the registry file about to be replaced as ``<name>.previous`` (replacing an older one).

    A second name for the same file (a hard link), so the registry never disappears from its own name, even
    for a moment: readers opening it meanwhile find the old one, then the new one.
    """
    if not path.is_file():
        return
    previous = previous_path(path)
    staged = path.with_name(f".{path.name}.previous-{os.getpid()}")
    staged.unlink(missing_ok=True)
    os.link(path, staged)
    os.chmod(staged, 0o600)  # like every registry file Jinef makes
    os.replace(staged, previous)


def swap_previous(path: Path) -> None:
    """Make ``<name>.previous`` the registry again and keep the replaced one as ``<name>.previous`` (rollback)."""
    previous = previous_path(path)
    if not previous.is_file():
        raise FileNotFoundError(f"no previous registry to roll back to at {previous} (one is kept by each "
                                "`jinef build` or replacing `jinef import`)")
    SqliteReader(previous).close()  # a Jinef registry, or RegistryNotFoundError saying what it is not
    staged = path.with_name(f".{path.name}.rollback-{os.getpid()}")
    staged.unlink(missing_ok=True)
    if path.is_file():
        os.link(path, staged)
    os.replace(previous, path)  # the one step readers see: the name now holds the previous registry
    if staged.is_file():
        os.replace(staged, previous)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _private_file(conn: sqlite3.Connection) -> None:
    """A file nobody else reads until it is renamed into place or merged: no journal, no sync."""
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA page_size=8192")


def _begin_with_tables(conn: sqlite3.Connection) -> None:
    """Open the filling transaction and create every registry table in it."""
    conn.execute("BEGIN")
    for table in TABLES:
        conn.execute(create_table_sql(table))
