"""Read access to a SQLite registry file (lookup side; never writes)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jinef.registry.model import Address
from jinef.store.base import ProvinceStats, RegistryNotFoundError
from jinef.store.query import ADDRESS_SELECT as _SELECT
from jinef.store.query import BOUND_SQL, EXPORT_SELECT, STATS_SQL, columns_from_cursor, export_where, row_to_address
from jinef.store.tables import TABLES

__all__ = ["RegistryNotFoundError", "SqliteReader", "row_to_address"]


class SqliteReader:
    """A :class:`jinef.store.base.RegistryReader` over one SQLite file, opened read-only."""

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

    def columns(self, table: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns of a table as numpy arrays, ordered by the table's first column."""
        bad = [n for n in names if n not in TABLES.get(table, ())]
        if bad:
            raise ValueError(f"unknown columns {bad} for table {table!r}")
        cols = ", ".join(names)
        return columns_from_cursor(self.conn.execute(f"SELECT {cols} FROM {table} ORDER BY {TABLES[table][0]}"),
                                   names)

    def stats(self) -> list[ProvinceStats]:
        """Per-province counts, computed with aggregate queries."""
        return [ProvinceStats(*row) for row in self.conn.execute(STATS_SQL)]

    def meta(self) -> dict[str, str]:
        """Build metadata."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()
