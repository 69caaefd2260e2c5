"""Read-only SQL on a registry store, either engine: the measures' queries run here unchanged.

Queries are written with ``?`` placeholders (SQLite's); on PostgreSQL they become ``%s``. The connection is the
store's own reader (SQLite opened read-only, PostgreSQL in read-only transactions), so computing the dashboard
can never change the registry nor wait for an editor's lock.
"""

from __future__ import annotations

import os
from typing import Any

from jinef.common.config import RegistryLocation
from jinef.write.stats.state_source import StateSource
from jinef.write.store.base import RegistryReader
from jinef.write.store.open import open_reader


class StatsSource(StateSource):
    """One registry's store, for the dashboard's queries (the same read-only SQL as the hub's and service's)."""

    def __init__(self, reader: RegistryReader) -> None:
        conn: Any = getattr(reader, "conn", None)
        if conn is None:
            raise TypeError(f"{type(reader).__name__} has no SQL connection to compute measures on")
        super().__init__(conn, postgres=type(reader).__name__ == "PostgresReader")
        self.reader = reader

    def has_table(self, name: str) -> bool:
        """Whether the store has this table (the change log exists only once the registry was edited)."""
        if self.postgres:
            row = self._conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
            return row is not None and row[0] is not None
        row = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        return row is not None

    def state(self) -> tuple[str, int]:
        """The registry's generation and its last change's number: what a set of figures was computed on."""
        return self.reader.meta().get("generation", ""), self.reader.last_change_seq()

    def close(self) -> None:
        """Release the connection."""
        self.reader.close()

    def __enter__(self) -> StatsSource:
        return self


def open_source(location: RegistryLocation | str | os.PathLike[str] | None = None) -> StatsSource:
    """A :class:`StatsSource` on the registry at ``location`` (default: ``JINEF_DB``, else the default file)."""
    return StatsSource(open_reader(RegistryLocation.of(location).engine_target()))
