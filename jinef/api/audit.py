"""The audit writer: one background thread per worker batches records into the service store.

Requests never wait on the database for their audit record: a record is appended to an in-memory
list, and the thread writes whatever has gathered once per interval in one transaction. The list is
bounded, and when it is full a request waits for room (back-pressure) rather than drop a record.
:meth:`AuditWriter.close` drains it, so a graceful stop loses nothing.

Why not a ``queue.Queue``: a queue wakes the writer thread on every record, and each wake-up is a GIL
hand-over that the request path pays for (it showed as the largest cost of a single lookup).
"""

from __future__ import annotations

import logging
import threading

from jinef.api.servicedb import AuditRecord, ServiceStore

log = logging.getLogger("jinef.audit")


class AuditWriter:
    """Batches :class:`AuditRecord` into the store from a background thread."""

    def __init__(self, store: ServiceStore, max_queue: int = 50_000, interval: float = 0.05) -> None:
        self.store = store
        self.max_queue = max_queue
        self.interval = interval
        self.written = 0
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()  # guards _pending and _submitted (never held while writing)
        self._flushed = threading.Condition()
        self._wake = threading.Event()
        self._stop = False
        self._submitted = 0
        self._thread = threading.Thread(target=self._run, name="jinef-audit-writer", daemon=True)
        self._thread.start()

    def submit(self, record: AuditRecord) -> None:
        """Keep a record for the next write (waits when too many are pending: never drops)."""
        with self._lock:
            self._pending.append(record)
            self._submitted += 1
            full = len(self._pending) >= self.max_queue
        if full:
            self.flush()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written; False on timeout."""
        with self._lock:
            target = self._submitted
        self._wake.set()
        with self._flushed:
            return self._flushed.wait_for(lambda: self.written >= target, timeout)

    def close(self) -> None:
        """Write everything pending and stop the thread."""
        if self._thread.is_alive():
            self._stop = True
            self._wake.set()
            self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stop = self._stop  # read before taking the batch: records submitted before close() are in it
            with self._lock:
                records, self._pending = self._pending, []
            if records:
                self._write(records)
            if stop:
                return

    def _write(self, records: list[AuditRecord]) -> None:
        delay = 0.05
        while True:
            try:
                self.store.write_audit(records)
                break
            except Exception:  # keep retrying: an audit record is never dropped
                log.exception("audit write failed; retrying")
                threading.Event().wait(delay)
                delay = min(delay * 2, 2.0)
        with self._flushed:
            self.written += len(records)
            self._flushed.notify_all()
