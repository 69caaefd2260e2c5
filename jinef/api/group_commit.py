"""Concurrent requests of one worker answered in groups, one durable commit per group, without threads.

A match is answered only once its audit record is on disk (an fsync, a few milliseconds here). The
event loop collects the single matches that arrive while a commit is under way and hands them, as
one group, to a single worker thread (:meth:`jinef.verify.service.MatchService.match_group`): a group
costs one commit however large it is, and no request occupies a thread of its own while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Runs ``run_group(items) -> results`` (same length and order) over the items of concurrent awaiters."""

    def __init__(self, run_group: Callable[[list[T]], Sequence[R]], name: str = "jinef-group") -> None:
        self._run_group = run_group
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """The result for ``item`` once its group has run (or the group's error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if not self._running:
            self._running = True
            task = loop.create_task(self._drain())
            self._tasks.add(task)  # a reference, so the task is not collected while it runs
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    results = await loop.run_in_executor(self._executor, self._run_group, [i for i, _ in group])
                    if len(results) != len(group):
                        raise RuntimeError("run_group must return one result per item")
                except Exception as exc:  # every awaiter of the group learns of the failure
                    for _, f in group:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                for (_, f), r in zip(group, results, strict=True):
                    if not f.done():  # an awaiter whose request was cancelled still had its item run
                        f.set_result(r)
        finally:
            self._running = False

    def close(self) -> None:
        """Wait for the group under way (its results are durable) and stop the thread."""
        self._executor.shutdown(wait=True)
