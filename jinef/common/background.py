"""Work handed to one background thread, in order: reading ahead of a consumer, or calls run behind a producer.

The bulk paths (import, export) spend most of their time in C code that releases the GIL (pyarrow
parsing and compute, SQLite stepping); a second thread lets the other core do that part while Python
works on the next batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterator[T], depth: int = 2, name: str = "prefetch") -> Iterator[T]:
    """The items of ``items``, produced up to ``depth`` ahead by a background thread (errors re-raised here)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            q.put(exc)

    t = threading.Thread(target=run, daemon=True, name=name)
    t.start()
    try:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():  # unblock a producer waiting on a full queue so that it sees the stop flag
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        t.join()


class Behind:
    """Calls run one after another by a background thread; :meth:`close` waits for them and re-raises."""

    def __init__(self, depth: int = 2, name: str = "behind") -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._q.get()) is not _DONE:
            if self._error is None:
                fn, args = item
                try:
                    fn(*args)
                except BaseException as exc:  # kept for the submitter, which raises it
                    self._error = exc

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` (waits while ``depth`` calls are queued); raises an earlier call's error."""
        if self._error is not None:
            raise self._error
        self._q.put((fn, args))

    def close(self) -> None:
        """Wait for every queued call; raise the first error any of them raised."""
        if self._thread.is_alive():
            self._q.put(_DONE)
            self._thread.join()
        if self._error is not None:
            raise self._error
