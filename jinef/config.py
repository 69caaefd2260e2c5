"""Where things are: the registry (a SQLite file or a PostgreSQL URL) and the service state."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("var") / "registry.sqlite"
# The HTTP service's guards against slow and greedy clients (jinef.api.slow_clients; `jinef serve` options).
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds for a request's line and headers
DEFAULT_BODY_TIMEOUT = 30.0  # seconds for its body (at most 256 KB), after the headers
DEFAULT_MAX_CONNS_PER_CLIENT = 1024  # open connections per client address, per worker (pooled clients open hundreds)


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The registry file: ``--db PATH``, else ``JINEF_DB``, else ``./var/registry.sqlite``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("JINEF_DB")
    return Path(env) if env else DEFAULT_DB


def registry_location(explicit: str | os.PathLike[str] | None = None) -> str | Path:
    """The registry: ``--db``, else ``JINEF_DB``, else the default file; a ``postgresql://`` URL stays a string."""
    raw = explicit or os.environ.get("JINEF_DB")
    if isinstance(raw, str) and raw.startswith(("postgresql://", "postgres://")):
        return raw
    return db_path(explicit)


def service_db_path(registry_path: str | os.PathLike[str] | None = None) -> Path:
    """The service database (keys, organisations, quotas, audit) beside the registry.

    It must not live inside the registry file, which rebuilds replace atomically and readers open
    read-only: ``var/registry.sqlite`` → ``var/registry.service.sqlite``.
    """
    loc = registry_location(registry_path)
    # A PostgreSQL registry has no file to sit beside: the service state keeps its default place.
    reg = DEFAULT_DB if isinstance(loc, str) else loc
    return reg.with_name(f"{reg.stem}.service.sqlite")


def verify_db_path(registry_path: str | os.PathLike[str] | None = None) -> Path:
    """The verification hub's database beside the registry: ``var/registry.verify.sqlite``.

    Live state, so not in the registry file (rebuilds replace it). Not in the service database
    either: SQLite has one write lock per file, and every match commits its audit record with a
    full fsync; sharing the file would queue those commits behind the request-audit writer and
    the quota updates (and vice versa). A separate file also keeps the personal data (hashes) on
    its own backup and retention schedule.
    """
    reg = db_path(registry_path)
    return reg.with_name(f"{reg.stem}.verify.sqlite")
