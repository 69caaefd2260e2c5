"""Reading the change feed without taking the edit lock: what serving workers poll several times a second.

Each read also gives the registry's generation, so a follower never applies the log of one registry on top of
the image of another (after a replacing build or import, the new image brings its own starting point).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from jinef.common.config import RegistryLocation
from jinef.write.edit import changelog
from jinef.write.edit.session import DbSession


class ChangeFeed:
    """The registry's change log, read-only: ``read(since, limit)`` → (generation, changes)."""

    def __init__(self, location: RegistryLocation | str | Path | None = None) -> None:
        self.location = RegistryLocation.of(location)
        self._pg: Any = None

    def _pg_session(self) -> DbSession:
        if self._pg is None or self._pg.closed:
            from psycopg import sql

            from jinef.write.store.postgres.location import parse_location
            from jinef.write.store.postgres.writer import connect

            loc = parse_location(self.location.target)
            self._pg = connect(loc, autocommit=True)
            self._pg.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(loc.schema)))
        return DbSession(self._pg, "%s")

    def read(self, since: int, limit: int = 1000) -> tuple[str | None, list[dict[str, Any]]]:
        """The registry's generation and its changes after ``since`` (none when it was never edited)."""
        if self.location.is_postgres:
            s = self._pg_session()
            return self._read(s, since, limit, "SELECT to_regclass('changes') IS NOT NULL")
        # A new connection each time: cheap, and a registry replaced by a rename is seen at once.
        conn = sqlite3.connect(f"file:{self.location.path.resolve()}?mode=ro", uri=True, timeout=5.0)
        try:
            return self._read(DbSession(conn), since, limit,
                              "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'changes'")
        finally:
            conn.close()

    @staticmethod
    def _read(s: DbSession, since: int, limit: int, has_log: str) -> tuple[str | None, list[dict[str, Any]]]:
        rows = s.rows("SELECT value FROM meta WHERE key = 'generation'")
        generation = str(rows[0][0]) if rows else None
        if not s.rows(has_log)[0][0]:
            return generation, []
        return generation, changelog.changes_since(s, since, limit)

    def close(self) -> None:
        """Release the PostgreSQL connection, if any."""
        if self._pg is not None:
            self._pg.close()
            self._pg = None
