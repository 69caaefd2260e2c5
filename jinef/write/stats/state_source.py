"""Read-only SQL on the verification hub's or the service's state, either engine, for the dashboard's figures.

The hub and the service keep their state in a SQLite file beside the registry, or in a schema of the registry's
PostgreSQL database when replicas share it (``<schema>_verify``, ``<schema>_service``). The dashboard reads both
the same way: the measures' queries run here unchanged (``?`` placeholders become ``%s`` on PostgreSQL), on a
connection that cannot write, and a state nobody has created yet (no file, no table) is absent, not an error.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from jinef.common.pg_location import is_postgres, parse_location
from jinef.common.sql_params import postgres_sql


class StateSource:
    """One state store (the hub's or the service's), opened read-only."""

    def __init__(self, conn: sqlite3.Connection | psycopg.Connection[Any], postgres: bool) -> None:
        self._conn = conn
        self.postgres = postgres

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""
        if self.postgres:
            return list(self._conn.execute(postgres_sql(query), tuple(params)).fetchall())
        return list(self._conn.execute(query, tuple(params)).fetchall())

    def columns(self, table: str) -> set[str]:
        """The table's column names (an older service database has fewer)."""
        if self.postgres:
            found = self._conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s", (table,))
            return {str(r[0]) for r in found.fetchall()}
        return {str(r[1]) for r in self._conn.execute(f"PRAGMA table_info({table})")}

    def add_view(self, name: str, query: str) -> None:
        """A temporary view over an older table (SQLite only: PostgreSQL stores were always the current shape)."""
        if not self.postgres:
            self._conn.execute(f"CREATE TEMP VIEW IF NOT EXISTS {name} AS {query}")

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()

    def __enter__(self) -> StateSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_state(target: str | os.PathLike[str] | None, table: str) -> StateSource | None:
    """The state at ``target`` (a file, or a ``postgresql://…?schema=…`` URL) read-only; None when it has no
    ``table`` yet (nobody has served from this registry) or cannot be reached as a file."""
    if target is None:
        return None
    if is_postgres(target):
        loc = parse_location(str(target))
        conn = psycopg.connect(loc.dsn, autocommit=True, connect_timeout=10)
        conn.execute("SET default_transaction_read_only = on")
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(loc.schema)))
        found = conn.execute("SELECT to_regclass(%s)", (f'"{loc.schema}".{table}',)).fetchone()
        if found is None or found[0] is None:
            conn.close()
            return None
        return StateSource(conn, postgres=True)
    path = Path(target)
    if not path.is_file():
        return None
    lite = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    if lite.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is None:
        lite.close()
        return None
    return StateSource(lite, postgres=False)


def as_datetime(value: str | datetime) -> datetime:
    """A time as either store gives it: ISO text from SQLite, a ``datetime`` from PostgreSQL."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
