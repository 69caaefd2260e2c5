"""One writer at a time for a SQLite file: across this process's threads and across processes.

Writers of several processes (the HTTP workers) queue on a file lock beside the database, which the
kernel hands to the next one the moment it is released; SQLite's own busy handler sleeps and retries
(1, 2, 5 … 100 ms), and whatever waited on that writer waited through those sleeps too. ``flock``
does not exclude threads of one process from each other, hence the thread lock taken first.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FileWriteLock:
    """The write lock of one database file (``<db>.lock`` beside it)."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.threads = threading.Lock()  # this process's writers; try it alone to see whether one is writing
        self._fd = os.open(f"{Path(db_path)}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for every thread and process writing the file."""
        with self.threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the lock file's descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
