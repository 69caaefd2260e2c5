"""Where things are: the registry file and the service state."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("var") / "registry.sqlite"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The registry file: ``--db PATH``, else ``JINEF_DB``, else ``./var/registry.sqlite``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("JINEF_DB")
    return Path(env) if env else DEFAULT_DB


def service_db_path(registry_path: str | os.PathLike[str] | None = None) -> Path:
    """The service database (keys, organisations, quotas, audit) beside the registry.

    It must not live inside the registry file, which rebuilds replace atomically and readers open
    read-only: ``var/registry.sqlite`` → ``var/registry.service.sqlite``.
    """
    reg = db_path(registry_path)
    return reg.with_name(f"{reg.stem}.service.sqlite")
