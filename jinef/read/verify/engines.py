"""Which engine holds the verification hub: a SQLite file, or a schema of a PostgreSQL database (replicas)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import psycopg

from jinef.common.pg_location import is_postgres, parse_location
from jinef.read.verify.postgres_store import PostgresVerifyStore
from jinef.read.verify.sqlite_store import SqliteVerifyStore
from jinef.read.verify.store import VerifyStore


def open_verify_store(target: str | os.PathLike[str], *,
                      durability: Literal["full", "normal", "off"] = "full") -> VerifyStore:
    """The hub's store at ``target``: a ``postgresql://…?schema=…`` URL, else a SQLite file (tables created)."""
    if is_postgres(target):
        return PostgresVerifyStore(str(target), durability=durability)
    return SqliteVerifyStore(Path(target), durability=durability)


def verify_store_exists(target: str | os.PathLike[str]) -> bool:
    """Whether a hub is there already (its file, or its tables in the schema): commands that only read need one."""
    if not is_postgres(target):
        return Path(target).exists()
    loc = parse_location(str(target))
    try:
        with psycopg.connect(loc.dsn, connect_timeout=10) as conn:
            row = conn.execute("SELECT to_regclass(%s)", (f'"{loc.schema}".verify_audit',)).fetchone()
    except psycopg.OperationalError:
        return False
    return row is not None and row[0] is not None


def describe_target(target: str | os.PathLike[str]) -> str:
    """The target for messages, never with a password."""
    if is_postgres(target):
        loc = parse_location(str(target))
        return f"{loc.redacted} (schema {loc.schema})"
    return str(target)
