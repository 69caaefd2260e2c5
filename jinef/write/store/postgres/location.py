"""A PostgreSQL registry location: a libpq URL plus the schema that holds the live registry.

``postgresql://user@host/db?schema=jinef`` — ``schema`` is Jinef's own parameter (default
``jinef``), taken out before the rest is handed to libpq, so several registries can share a
database (the tests give each its own schema).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

DEFAULT_SCHEMA = "jinef"
_SCHEMES = ("postgresql://", "postgres://")
# Room for the build suffix within PostgreSQL's 63-byte identifiers.
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


def is_postgres(location: object) -> bool:
    """True when the registry location names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(_SCHEMES)


@dataclass(frozen=True)
class PgLocation:
    """Connection string for libpq and the live schema's name."""

    dsn: str
    schema: str

    @property
    def redacted(self) -> str:
        """The DSN with any password hidden, for messages."""
        s = re.sub(r"(://[^:/@?]*:)[^@/?]*@", r"\1***@", self.dsn)
        return re.sub(r"(password=)[^&\s]*", r"\1***", s)


def parse_location(location: str) -> PgLocation:
    """Split a ``postgresql://`` location into its libpq DSN and schema."""
    if not is_postgres(location):
        raise ValueError(f"not a PostgreSQL location: {location!r}")
    base, _, query = location.partition("?")
    schema = DEFAULT_SCHEMA
    kept = []
    for pair in query.split("&") if query else []:
        key, _, value = pair.partition("=")
        if key == "schema":
            schema = unquote(value)
        else:
            kept.append(pair)
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"bad schema name {schema!r}: lower-case letters, digits and _, at most 40")
    return PgLocation(base + ("?" + "&".join(kept) if kept else ""), schema)
