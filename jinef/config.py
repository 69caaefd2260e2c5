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
