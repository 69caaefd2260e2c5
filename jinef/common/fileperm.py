"""Files with personal data or keys are created private (mode 0600), whatever the process's umask.

SQLite creates a database with the umask's mode (usually 0644: readable by every local user), and its
``-wal`` and ``-shm`` files with the mode of the database. So the database file is created here first,
empty and 0600, before SQLite opens it; an existing one that others can read is tightened.
"""

from __future__ import annotations

import os
from pathlib import Path


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; take group and other access off an existing one
    and off its SQLite ``-wal`` / ``-shm`` files."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    for p in (Path(path), Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            mode = p.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(p, mode & 0o700)
