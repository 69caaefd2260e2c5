"""A PostgreSQL registry location: a libpq URL plus the schema that holds the live registry.

``postgresql://user@host/db?schema=jinef`` (see :mod:`jinef.common.pg_location`). A registry's schema name
leaves room for the build suffix (``<schema>_build_<pid>_<tag>``) within PostgreSQL's 63-byte identifiers.
"""

from __future__ import annotations

from jinef.common import pg_location
from jinef.common.pg_location import DEFAULT_SCHEMA, PgLocation, is_postgres

__all__ = ["DEFAULT_SCHEMA", "REGISTRY_SCHEMA_MAX", "PgLocation", "is_postgres", "parse_location"]

REGISTRY_SCHEMA_MAX = 40


def parse_location(location: str) -> PgLocation:
    """Split a ``postgresql://`` registry location into its libpq DSN and schema."""
    return pg_location.parse_location(location, max_schema=REGISTRY_SCHEMA_MAX)
