"""Group commit: concurrent awaiters' items run as groups by one writer thread, each awaiter gets its own answer."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from jinef.common.group_commit import GroupCommit


class Recorder:
    """A run_group that doubles its items, remembers each group, and can be slowed or made to fail."""

    def __init__(self, delay: float = 0.0) -> None:
        self.groups: list[list[int]] = []
        self.delay = delay
        self.threads: set[str] = set()
        self.finished = 0

    def __call__(self, items: list[int]) -> list[int]:
        self.threads.add(threading.current_thread().name)
        self.groups.append(list(items))
        time.sleep(self.delay)
        self.finished += 1
        if any(i < 0 for i in items):
            raise ValueError("a negative item fails its whole group")
        return [2 * i for i in items]


def test_concurrent_items_are_grouped_and_answered_in_order() -> None:
    run = Recorder(delay=0.01)
    group = GroupCommit(run, "test-group")

    async def main() -> list[int]:
        return await asyncio.gather(*(group.submit(i) for i in range(100)))

    try:
        assert asyncio.run(main()) == [2 * i for i in range(100)]
    finally:
        group.close()
    assert sorted(i for g in run.groups for i in g) == list(range(100))
    assert len(run.groups) < 10 and run.threads == {"test-group"}  # grouped, on the one writer thread


def test_a_failed_group_fails_its_awaiters_only() -> None:
    run = Recorder(delay=0.2)
    group = GroupCommit(run)

    async def main() -> tuple[int, list[object], list[int]]:
        head = asyncio.ensure_future(group.submit(0))  # goes alone; what arrives meanwhile is the next group
        await asyncio.sleep(0.01)
        failed = await asyncio.gather(group.submit(1), group.submit(-1), return_exceptions=True)
        return await head, failed, await asyncio.gather(group.submit(3), group.submit(4))

    try:
        head, failed, later = asyncio.run(main())
    finally:
        group.close()
    assert run.groups[:2] == [[0], [1, -1]]
    assert head == 0 and all(isinstance(r, ValueError) for r in failed)
    assert later == [6, 8]


def test_a_cancelled_awaiter_leaves_the_others_their_answers() -> None:
    run = Recorder(delay=0.2)
    group = GroupCommit(run)

    async def main() -> list[int]:
        head = asyncio.ensure_future(group.submit(0))
        await asyncio.sleep(0.01)
        doomed = asyncio.ensure_future(group.submit(7))
        others = [asyncio.ensure_future(group.submit(i)) for i in (1, 2)]
        await asyncio.sleep(0.01)
        doomed.cancel()
        return [await head, *await asyncio.gather(*others)]

    try:
        assert asyncio.run(main()) == [0, 2, 4]
    finally:
        group.close()
    assert [7, 1, 2] in run.groups  # the cancelled item still ran (it may be durable): only its answer is dropped


def test_a_new_loop_takes_over_even_from_a_loop_stopped_mid_group() -> None:
    run = Recorder(delay=0.2)
    group = GroupCommit(run)

    async def impatient() -> None:
        await asyncio.wait_for(group.submit(1), timeout=0.02)

    try:
        with pytest.raises(TimeoutError):
            asyncio.run(impatient())  # this loop closes while its group is still running
        assert asyncio.run(group.submit(5)) == 10
    finally:
        group.close()


def test_two_loops_at_once_are_refused() -> None:
    run = Recorder(delay=0.3)
    group = GroupCommit(run)
    started = threading.Event()
    outcome: list[object] = []

    def other_loop() -> None:
        async def hold() -> None:
            pending = asyncio.ensure_future(group.submit(1))
            await asyncio.sleep(0)
            started.set()
            outcome.append(await pending)

        asyncio.run(hold())

    thread = threading.Thread(target=other_loop)
    thread.start()
    try:
        assert started.wait(5)
        with pytest.raises(RuntimeError, match="one event loop at a time"):
            asyncio.run(group.submit(2))
        thread.join()
        assert outcome == [2]
    finally:
        group.close()


def test_close_waits_for_the_group_handed_over() -> None:
    """A loop that ends while its group runs: close() returns only once that group is done; items still
    waiting in the loop were never handed over, and their awaiters were cancelled (no answer, no run)."""
    run = Recorder(delay=0.2)
    group = GroupCommit(run)

    async def main() -> list[asyncio.Future[int]]:
        tasks = [asyncio.ensure_future(group.submit(i)) for i in range(3)]
        await asyncio.sleep(0.01)
        return tasks

    tasks = asyncio.run(main())
    assert all(t.cancelled() for t in tasks)
    group.close()
    assert run.groups == [[0]] and run.finished == 1
