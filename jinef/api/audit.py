"""The call audit: every call's record committed before its answer leaves, in groups.

A request hands its record to :meth:`AuditWriter.record` and waits; the records of the calls that
arrive while one transaction is being written go into the next one
(:class:`jinef.common.group_commit.GroupCommit`), so under load one commit serves many calls and a lone
call waits for one small commit. The service database runs WAL with ``synchronous=NORMAL``: a
committed record survives the crash or kill of the worker (not a power cut). A call whose record
cannot be written gets a 503 instead of its answer (see ``jinef.api.app``).
"""

from __future__ import annotations

import logging
import threading
import time

from jinef.api.servicedb import AuditRecord, ServiceStore
from jinef.common.group_commit import GroupCommit

log = logging.getLogger("jinef.audit")


class AuditWriter:
    """Commits :class:`AuditRecord` in groups from one background thread; callers await their own."""

    def __init__(self, store: ServiceStore, retries: int = 3) -> None:
        self.store = store
        self.retries = retries
        self.written = 0
        self._group: GroupCommit[AuditRecord, None] = GroupCommit(self._write, "jinef-audit")
        # WAL checkpoints (and their fsync) run here, every second, rather than inside a commit that
        # answers are waiting for.
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint, name="jinef-checkpoint", daemon=True)
        self._checkpointer.start()

    async def record(self, record: AuditRecord) -> None:
        """Return once ``record`` is committed; raises when it could not be written."""
        await self._group.submit(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every group handed to the writer is written; False on timeout."""
        return self._group.drain(timeout)

    def close(self) -> None:
        """Finish the group being written and stop the threads (callers awaited theirs already)."""
        self._group.close()
        self._stop.set()
        self._checkpointer.join()
        self.store.checkpoint()

    def _checkpoint(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.store.checkpoint()
            except Exception:  # a chore: the next second tries again
                log.exception("WAL checkpoint failed")

    def _write(self, records: list[AuditRecord]) -> list[None]:
        delay = 0.05
        for attempt in range(self.retries):
            try:
                self.store.write_audit(records)
                break
            except Exception:  # a busy or briefly failing disk: try again, then give up (the calls get 503)
                if attempt == self.retries - 1:
                    raise
                log.exception("audit write failed; retrying")
                time.sleep(delay)
                delay *= 4
        self.written += len(records)
        return [None] * len(records)
