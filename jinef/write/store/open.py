"""The one place that picks a storage engine from a registry location.

``postgresql://…`` (or ``postgres://…``) is a PostgreSQL database; anything else is a SQLite file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from jinef.common.config import registry_location
from jinef.write.store.base import RegistryReader, RegistryWriter
from jinef.write.store.postgres.location import is_postgres, parse_location


def open_reader(location: str | os.PathLike[str] | None = None) -> RegistryReader:
    """A reader for the registry at ``location`` (default: ``JINEF_DB``, else the default file)."""
    loc = registry_location(location)
    if is_postgres(loc):
        from jinef.write.store.postgres.reader import PostgresReader  # psycopg only when asked for

        return PostgresReader(str(loc))
    from jinef.write.store.sqlite.reader import SqliteReader

    return SqliteReader(Path(loc))


def open_writer(location: str | os.PathLike[str] | None = None,
                mode: Literal["replace", "append"] = "replace") -> RegistryWriter:
    """A writer for the registry at ``location``: ``replace`` publishes a new registry atomically."""
    loc = registry_location(location)
    if is_postgres(loc):
        from jinef.write.store.postgres.writer import PostgresWriter

        return PostgresWriter(str(loc), mode)
    from jinef.write.store.sqlite.writer import SqliteWriter

    return SqliteWriter(Path(loc), mode)


def describe_location(location: str | os.PathLike[str]) -> str:
    """The registry location for messages and output, without any password."""
    if is_postgres(location):
        loc = parse_location(str(location))
        return f"{loc.redacted} (schema {loc.schema})"
    return str(location)
