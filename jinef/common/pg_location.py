"""PostgreSQL locations: a libpq URL plus the schema that holds what Jinef keeps there.

``postgresql://user@host/db?schema=jinef`` — ``schema`` is Jinef's own parameter (default ``jinef``), taken out
before the rest is handed to libpq, so several registries (and their service and hub state) share a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

DEFAULT_SCHEMA = "jinef"
_SCHEMES = ("postgresql://", "postgres://")
# PostgreSQL identifiers are at most 63 bytes; Jinef's are plain lower-case ones (never quoted differently).
MAX_SCHEMA = 63


def is_postgres(location: object) -> bool:
    """True when the location names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(_SCHEMES)


@dataclass(frozen=True)
class PgLocation:
    """Connection string for libpq and the schema's name."""

    dsn: str
    schema: str

    @property
    def redacted(self) -> str:
        """The DSN with any password hidden, for messages."""
        return redact(self.dsn)


def redact(url: str) -> str:
    """A URL with any password hidden, for messages."""
    s = re.sub(r"(://[^:/@?]*:)[^@/?]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", s)


def parse_location(location: str, *, max_schema: int = MAX_SCHEMA) -> PgLocation:
    """Split a ``postgresql://`` location into its libpq DSN and schema (at most ``max_schema`` characters)."""
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
    if not re.fullmatch(rf"[a-z_][a-z0-9_]{{0,{max_schema - 1}}}", schema):
        raise ValueError(f"bad schema name {schema!r}: lower-case letters, digits and _, at most {max_schema}")
    return PgLocation(base + ("?" + "&".join(kept) if kept else ""), schema)


def with_schema(location: str, schema: str) -> str:
    """The same database with another schema: ``postgresql://…?schema=<schema>``."""
    dsn = parse_location(location).dsn
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={quote(schema)}"
