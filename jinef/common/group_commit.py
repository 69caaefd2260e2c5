"""Concurrent requests of one worker answered in groups, one commit per group, without a thread per request.

A match is answered only once its audit record is on disk (an fsync, a few milliseconds here), and any
call only once its call record is committed. The event loop collects the items that arrive while a
group is being written and hands them, as the next group, to one writer thread: a group costs one
commit however large it is, and no request occupies a thread while it waits.

The hand-over is a ``SimpleQueue`` one way and ``call_soon_threadsafe`` the other, once per group:
``ThreadPoolExecutor.submit`` cost more per group than the commit of a few call records.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_Group = list[tuple[T, "asyncio.Future[R]"]]


class GroupCommit(Generic[T, R]):
    """Runs ``run_group(items) -> results`` (same length and order) over the items of concurrent awaiters."""

    def __init__(self, run_group: Callable[[list[T]], Sequence[R]], name: str = "jinef-group") -> None:
        self._run_group = run_group
        self._jobs: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, _Group[T, R]] | threading.Event | None]
        self._jobs = queue.SimpleQueue()
        self._pending: _Group[T, R] = []
        self._running = False  # a group is with the writer thread (read and written in the loop only)
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop whose awaiters are being served
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def submit(self, item: T) -> R:
        """The result for ``item`` once its group has run (or the group's error)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Groups are gathered and answered in one loop; a new loop takes over once the old one is idle or
            # closed (a script that calls asyncio.run more than once, or one stopped while a group ran: its
            # awaiters are gone, and the group's answers are dropped when they find the loop closed).
            old = self._loop
            if old is not None and not old.is_closed() and (self._running or self._pending):
                raise RuntimeError("a GroupCommit serves one event loop at a time")
            self._loop, self._pending, self._running = loop, [], False
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if not self._running:
            self._running = True
            self._send(loop)
        return await future

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        group, self._pending = self._pending, []
        self._jobs.put((loop, group))

    def _serve(self) -> None:
        """The writer thread: run each group, then hand its results back to the loop it came from."""
        while (job := self._jobs.get()) is not None:
            if isinstance(job, threading.Event):
                job.set()
                continue
            loop, group = job
            try:
                results: Sequence[R] | None = self._run_group([item for item, _ in group])
                if results is None or len(results) != len(group):
                    raise RuntimeError("run_group must return one result per item")
                error: Exception | None = None
            except Exception as exc:  # every awaiter of the group learns of the failure
                results, error = None, exc
            try:
                loop.call_soon_threadsafe(self._done, loop, group, results, error)
            except RuntimeError:  # the loop has closed: nobody waits for these any more
                pass

    def _done(self, loop: asyncio.AbstractEventLoop, group: _Group[T, R], results: Sequence[R] | None,
              error: Exception | None) -> None:
        for i, (_, future) in enumerate(group):
            if future.done():  # an awaiter whose request was cancelled still had its item run
                continue
            if error is not None or results is None:
                future.set_exception(error or RuntimeError("no results"))
            else:
                future.set_result(results[i])
        if self._pending:  # what arrived meanwhile is the next group
            self._send(loop)
        else:
            self._running = False

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every group handed to the thread so far has run; False on timeout."""
        if not self._thread.is_alive():
            return True
        reached = threading.Event()
        self._jobs.put(reached)
        return reached.wait(timeout)

    def close(self) -> None:
        """Finish the groups handed over (their results are durable) and stop the thread."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
