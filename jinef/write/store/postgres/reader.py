"""Read access to a PostgreSQL registry (lookup side; never writes).

The session's ``search_path`` is the live schema, so the address query is the same text as on
SQLite, and each statement (autocommit) resolves the schema afresh: after a rebuild swaps schemas,
the next query reads the new registry.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from psycopg import sql

from jinef.model.address import Address
from jinef.write.store.base import ProvinceStats, RegistryNotFoundError
from jinef.write.store.postgres.location import parse_location
from jinef.write.store.postgres.writer import connect, schema_exists
from jinef.write.store.query import (
    ACTIVE_UNITS_SQL,
    ADDRESS_SELECT,
    BOUND_SQL,
    EXPORT_SELECT,
    STATS_SQL,
    column_chunks_from_cursor,
    columns_from_cursor,
    export_where,
    row_to_address,
)
from jinef.write.store.tables import TABLES


class PostgresReader:
    """A :class:`jinef.write.store.base.RegistryReader` over one schema of a PostgreSQL database."""

    def __init__(self, location: str) -> None:
        self._location = location
        self.loc = parse_location(location)
        self.conn = connect(self.loc, autocommit=True)
        self._cursors = itertools.count()
        try:
            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.loc.schema)))
            # Readers never write, even by mistake.
            self.conn.execute("SET default_transaction_read_only = on")
            if not schema_exists(self.conn, self.loc.schema):
                raise RegistryNotFoundError(
                    f"no registry in schema {self.loc.schema!r} at {self.loc.redacted}: build one with "
                    "`jinef build` or `jinef import`")
        except BaseException:
            self.conn.close()
            raise

    def reopen(self) -> PostgresReader:
        """Another reader on the same schema, with its own connection."""
        return PostgresReader(self._location)

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (active or retired), or None."""
        row = self.conn.execute(ADDRESS_SELECT + " WHERE u.postcode = %s", (postcode,)).fetchone()
        return row_to_address(row) if row else None

    def status(self, postcode: int) -> str | None:
        """The unit's status ('active' or 'retired'), or None when unknown: one index probe, no joins."""
        row = self.conn.execute("SELECT status FROM units WHERE postcode = %s", (postcode,)).fetchone()
        return None if row is None else str(row[0])

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes, in input order."""
        found: dict[int, Address] = {}
        uniq = [int(p) for p in dict.fromkeys(postcodes)]
        q = ADDRESS_SELECT + " WHERE u.postcode = ANY(%s::bigint[])"
        for i in range(0, len(uniq), 5000):
            for row in self.conn.execute(q, (uniq[i : i + 5000],)):
                found[row[1]] = row_to_address(row)
        return [found.get(p) for p in postcodes]

    def iter_addresses(self, active_only: bool = True, batch: int = 10_000) -> Iterator[Address]:
        """Every unit, ordered by postcode (a server-side cursor: memory stays flat)."""
        where = " WHERE u.status = 'active'" if active_only else ""
        # A named cursor lives in a transaction, which also gives the whole walk one snapshot.
        with self.conn.transaction(), self.conn.cursor(name=f"jinef_iter_{next(self._cursors)}") as cur:
            cur.itersize = batch
            cur.execute(ADDRESS_SELECT + where + " ORDER BY u.postcode")
            while rows := cur.fetchmany(batch):
                for row in rows:
                    yield row_to_address(row)

    def export_chunks(self, active_only: bool = True, batch: int = 100_000, start: int | None = None,
                      stop: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of the export query ordered by postcode, a list per chunk (a server-side cursor, one snapshot)."""
        where, params = export_where(active_only, start, stop, "%s")
        with self.conn.transaction(), self.conn.cursor(name=f"jinef_export_{next(self._cursors)}") as cur:
            cur.itersize = batch
            cur.execute(EXPORT_SELECT + where + " ORDER BY u.postcode", params)
            while rows := cur.fetchmany(batch):
                yield rows

    def postcode_bounds(self, step: int) -> list[int]:
        """Postcodes that cut the units, in postcode order, into runs of ``step`` (for parallel exports)."""
        bounds: list[int] = []
        last = -1
        while row := self.conn.execute(BOUND_SQL.format(p="%s"), (last, step - 1)).fetchone():
            last = int(row[0])
            bounds.append(last + 1)
        return bounds

    def _select(self, table: str, names: Sequence[str]) -> sql.Composed:
        bad = [n for n in names if n not in TABLES.get(table, ())]
        if bad:
            raise ValueError(f"unknown columns {bad} for table {table!r}")
        return sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(table), sql.Identifier(TABLES[table][0]))

    def columns(self, table: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns of a table as numpy arrays, ordered by the table's first column."""
        return columns_from_cursor(self.conn.execute(self._select(table, names)), names)

    def column_chunks(self, table: str, names: Sequence[str], rows: int = 1_000_000) -> Iterator[dict[str, np.ndarray]]:
        """The same columns in chunks of ``rows`` rows, in the same order (a server-side cursor: memory stays
        bounded by one chunk)."""
        q = self._select(table, names)
        with self.conn.transaction(), self.conn.cursor(name=f"jinef_columns_{next(self._cursors)}") as cur:
            cur.itersize = rows
            cur.execute(q)
            yield from column_chunks_from_cursor(cur, names, rows)

    def arrow_batches(self, table: str, names: Sequence[str], rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
        """The same columns as Arrow record batches, read by the ADBC PostgreSQL driver (binary COPY, in C)."""
        import adbc_driver_postgresql.dbapi as adbc  # only the image compiler reads this way

        bad = [n for n in names if n not in TABLES.get(table, ())]
        if bad:
            raise ValueError(f"unknown columns {bad} for table {table!r}")
        cols = ", ".join(f'"{n}"' for n in names)
        query = f'SELECT {cols} FROM "{self.loc.schema}"."{table}" ORDER BY "{TABLES[table][0]}"'
        with adbc.connect(self.loc.dsn) as conn, conn.cursor() as cur:
            cur.execute(query)
            yield from cur.fetch_record_batch()

    def stats(self) -> list[ProvinceStats]:
        """Per-province counts, computed with aggregate queries."""
        return [ProvinceStats(*row) for row in self.conn.execute(STATS_SQL)]

    def active_units(self) -> int:
        """How many units are active (one count, no joins)."""
        row = self.conn.execute(ACTIVE_UNITS_SQL).fetchone()
        return int(row[0]) if row else 0

    def meta(self) -> dict[str, str]:
        """Build metadata."""
        rows: list[tuple[Any, ...]] = self.conn.execute("SELECT key, value FROM meta").fetchall()
        return {r[0]: r[1] for r in rows}

    def last_change_seq(self) -> int:
        """The number of the last logged edit (0 when the registry has never been edited)."""
        row = self.conn.execute("SELECT to_regclass('changes')").fetchone()
        if row is None or row[0] is None:
            return 0
        last = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()
        return int(last[0]) if last else 0

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()

    def __enter__(self) -> PostgresReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
