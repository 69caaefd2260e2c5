"""Flat combining: concurrent callers' items are run as one batch by one of them.

Used for group commit. A caller adds its item to the open batch; if no batch is running it
becomes the leader, takes the open batch and runs it (one database transaction for all);
callers arriving meanwhile fill the next batch and wait, each on its own lock. The leader
then releases its batch's callers and hands the lead to one caller of the next batch. One
commit (one fsync) thus serves everyone who arrived during the previous one, a lone caller
pays exactly one run, every waiting caller is woken exactly once, and the work of a batch
happens in a single thread (no interpreter-lock ping-pong between callers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self.wake: threading.Lock | None = None  # held while the caller waits


class Combiner(Generic[T, R]):
    """Runs ``run_batch(items) -> results`` (same order, same length) over concurrent callers."""

    def __init__(self, run_batch: Callable[[list[T]], Sequence[R]]) -> None:
        self._run_batch = run_batch
        self._lock = threading.Lock()
        self._open: list[_Slot[T, R]] = []
        self._running = False

    def submit(self, item: T) -> R:
        """Run ``item`` in the next batch and return its result (or raise the batch's error)."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._open.append(slot)
            if self._running:
                slot.wake = threading.Lock()
                slot.wake.acquire()
            else:
                self._running = True
                batch, self._open = self._open, []
        if slot.wake is not None:
            slot.wake.acquire()  # released when our batch is done, or when we are handed the lead
            if slot.done:
                return self._result(slot)
            with self._lock:
                batch, self._open = self._open, []  # we lead: our slot is in the open batch
        try:
            results = self._run_batch([s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError("run_batch must return one result per item")
            for s, r in zip(batch, results, strict=True):
                s.result = r
        except BaseException as exc:  # every caller of the batch must learn of the failure
            for s in batch:
                s.error = exc
        finally:
            with self._lock:
                for s in batch:
                    s.done = True
                    if s.wake is not None and s is not slot:
                        s.wake.release()
                if self._open:
                    nxt = self._open[0]
                    assert nxt.wake is not None  # arrived while we were running, so it waits
                    nxt.wake.release()  # hand the lead to the next batch
                else:
                    self._running = False
        return self._result(slot)

    @staticmethod
    def _result(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
