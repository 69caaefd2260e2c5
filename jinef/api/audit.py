"""The audit writer: one background thread per worker batches records into the service store.

Requests never wait on the database for their audit record; the queue is bounded, and when it is
full a request waits for room (back-pressure) rather than drop a record. :meth:`AuditWriter.close`
drains the queue, so a graceful stop loses nothing.
"""

from __future__ import annotations

import logging
import queue
import threading

from jinef.api.servicedb import AuditRecord, ServiceStore

log = logging.getLogger("jinef.audit")
_STOP = object()


class AuditWriter:
    """Batches :class:`AuditRecord` into the store from a background thread."""

    def __init__(self, store: ServiceStore, max_queue: int = 50_000, batch: int = 2_000,
                 interval: float = 0.05) -> None:
        self.store = store
        self.queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self.batch = batch
        self.interval = interval
        self.written = 0
        self._flushed = threading.Condition()
        self._submitted = 0
        self._thread = threading.Thread(target=self._run, name="jinef-audit-writer", daemon=True)
        self._thread.start()

    def submit(self, record: AuditRecord) -> None:
        """Queue a record (waits when the queue is full: never drops)."""
        self._submitted += 1
        self.queue.put(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written; False on timeout."""
        target = self._submitted
        with self._flushed:
            return self._flushed.wait_for(lambda: self.written >= target, timeout)

    def close(self) -> None:
        """Drain the queue, write the rest and stop the thread."""
        if self._thread.is_alive():
            self.queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        stop = False
        while not stop:
            try:
                first = self.queue.get(timeout=self.interval)
            except queue.Empty:
                continue
            items = [first]
            while len(items) < self.batch:
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in items:
                stop = True
                # Records queued after the stop marker (none on a clean shutdown) are still written.
                while True:
                    try:
                        items.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
            records = [r for r in items if isinstance(r, AuditRecord)]
            self._write(records)

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
