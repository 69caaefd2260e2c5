"""Read access to a SQLite registry file (lookup side; never writes)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from jinef.model.address import Address
from jinef.write.store.base import ProvinceStats, RegistryNotFoundError
from jinef.write.store.query import (
    ACTIVE_UNITS_SQL,
    BOUND_SQL,
    EXPORT_SELECT,
    STATS_SQL,
    column_chunks_from_cursor,
    columns_from_cursor,
    export_where,
    row_to_address,
)
from jinef.write.store.query import ADDRESS_SELECT as _SELECT
from jinef.write.store.sqlite.schema import column_type
from jinef.write.store.tables import TABLES

__all__ = ["RegistryNotFoundError", "SqliteReader", "row_to_address"]


# NULL as the ADBC read sees it, per declared type: values no registry column holds.
_NULL_AS = {"INTEGER": "-9223372036854775808", "REAL": "-1e300", "TEXT": "char(0)"}
_SENTINEL = {"INTEGER": -9223372036854775808, "REAL": -1e300, "TEXT": "\0"}


class SqliteReader:
    """A :class:`jinef.write.store.base.RegistryReader` over one SQLite file, opened read-only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RegistryNotFoundError(
                f"no registry at {self.path}: build one with `jinef build` or `jinef import`"
            )
        # Read-only URI: a reader can never modify the registry, and keeps seeing the file it
        # opened even if a rebuild renames a new one over it.
        self.conn = sqlite3.connect(
            f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False
        )
        self.conn.execute("PRAGMA query_only=1")
        try:
            self.conn.execute("SELECT 1 FROM units LIMIT 1")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise RegistryNotFoundError(f"{self.path} is not a Jinef registry: {exc}") from exc

    def reopen(self) -> SqliteReader:
        """Another reader on the same file, with its own connection."""
        return SqliteReader(self.path)

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (active or retired), or None."""
        row = self.conn.execute(_SELECT + " WHERE u.postcode = ?", (postcode,)).fetchone()
        return row_to_address(row) if row else None

    def status(self, postcode: int) -> str | None:
        """The unit's status ('active' or 'retired'), or None when unknown: one index probe, no joins."""
        row = self.conn.execute("SELECT status FROM units WHERE postcode = ?", (postcode,)).fetchone()
        return None if row is None else str(row[0])

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes, in input order."""
        found: dict[int, Address] = {}
        uniq = list(dict.fromkeys(postcodes))
        for i in range(0, len(uniq), 500):
            chunk = uniq[i : i + 500]
            q = _SELECT + f" WHERE u.postcode IN ({','.join('?' * len(chunk))})"
            for row in self.conn.execute(q, chunk):
                found[row[1]] = row_to_address(row)
        return [found.get(p) for p in postcodes]

    def iter_addresses(self, active_only: bool = True, batch: int = 10_000) -> Iterator[Address]:
        """Every unit, ordered by postcode."""
        where = " WHERE u.status = 'active'" if active_only else ""
        cur = self.conn.execute(_SELECT + where + " ORDER BY u.postcode")
        while rows := cur.fetchmany(batch):
            for row in rows:
                yield row_to_address(row)

    def export_chunks(self, active_only: bool = True, batch: int = 100_000, start: int | None = None,
                      stop: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of the export query ordered by postcode, a list per chunk (column-wise export)."""
        where, params = export_where(active_only, start, stop, "?")
        cur = self.conn.execute(EXPORT_SELECT + where + " ORDER BY u.postcode", params)
        while rows := cur.fetchmany(batch):
            yield rows

    def postcode_bounds(self, step: int) -> list[int]:
        """Postcodes that cut the units, in postcode order, into runs of ``step`` (for parallel exports)."""
        bounds: list[int] = []
        last = -1
        while row := self.conn.execute(BOUND_SQL.format(p="?"), (last, step - 1)).fetchone():
            last = int(row[0])
            bounds.append(last + 1)
        return bounds

    def _select(self, table: str, names: Sequence[str]) -> sqlite3.Cursor:
        bad = [n for n in names if n not in TABLES.get(table, ())]
        if bad:
            raise ValueError(f"unknown columns {bad} for table {table!r}")
        return self.conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY {TABLES[table][0]}")

    def columns(self, table: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns of a table as numpy arrays, ordered by the table's first column."""
        return columns_from_cursor(self._select(table, names), names)

    def column_chunks(self, table: str, names: Sequence[str], rows: int = 1_000_000) -> Iterator[dict[str, np.ndarray]]:
        """The same columns in chunks of ``rows`` rows, in the same order."""
        return column_chunks_from_cursor(self._select(table, names), names, rows)

    def arrow_batches(self, table: str, names: Sequence[str], rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
        """The same columns as Arrow record batches, read by the ADBC SQLite driver (in C, no row objects).

        The driver takes a column's type from its first rows, so NULL is read as a sentinel of the column's
        declared type (a column NULL for a million rows and then text would otherwise fail) and put back.
        """
        import adbc_driver_sqlite.dbapi as adbc  # only the image compiler reads this way
        import pyarrow.compute as pc

        self._select(table, names).close()  # the same column check as the other reads
        kinds = [column_type(table, n) for n in names]
        cols = ", ".join(f"COALESCE({n}, {_NULL_AS[k]})" for n, k in zip(names, kinds, strict=True))
        with adbc.connect(f"file:{self.path.resolve()}?mode=ro") as conn, conn.cursor() as cur:
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
            cur.execute(f"SELECT {cols} FROM {table} ORDER BY {TABLES[table][0]}")
            for batch in cur.fetch_record_batch():
                arrays = [pc.if_else(pc.equal(col, _SENTINEL[k]), pa.scalar(None, col.type), col)
                          for col, k in zip(batch.columns, kinds, strict=True)]
                yield pa.RecordBatch.from_arrays(arrays, names=list(names))

    def stats(self) -> list[ProvinceStats]:
        """Per-province counts, computed with aggregate queries."""
        return [ProvinceStats(*row) for row in self.conn.execute(STATS_SQL)]

    def active_units(self) -> int:
        """How many units are active (one count, no joins)."""
        row = self.conn.execute(ACTIVE_UNITS_SQL).fetchone()
        return int(row[0]) if row else 0

    def meta(self) -> dict[str, str]:
        """Build metadata."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def last_change_seq(self) -> int:
        """The number of the last logged edit (0 when the registry has never been edited)."""
        try:
            return int(self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])
        except sqlite3.OperationalError:  # no change log: never edited
            return 0

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()

    def __enter__(self) -> SqliteReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
