"""Flat combining (group commit): each caller gets its own result; failures reach the whole batch only."""

from __future__ import annotations

import threading
import time

import pytest
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, Registry, verify_link

from jinef.read.verify import VerifyHub
from jinef.read.verify.combine import Combiner


def run_threads(n: int, target) -> None:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)


def test_each_caller_gets_its_own_result_and_batches_form() -> None:
    sizes: list[int] = []

    def run_batch(items: list[int]) -> list[int]:
        sizes.append(len(items))
        time.sleep(0.002)  # a slow commit: callers pile up behind it
        return [x * 2 for x in items]

    c: Combiner[int, int] = Combiner(run_batch)
    got: dict[int, list[int]] = {}

    def worker(i: int) -> None:
        got[i] = [c.submit(i * 100 + k) for k in range(20)]

    run_threads(16, worker)
    assert got == {i: [(i * 100 + k) * 2 for k in range(20)] for i in range(16)}
    assert sum(sizes) == 16 * 20
    assert max(sizes) > 1 and len(sizes) < 16 * 20


def test_a_failing_batch_fails_its_callers_only() -> None:
    calls = 0

    def run_batch(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        time.sleep(0.001)
        if calls == 2:
            raise OSError("disk full")
        return items

    c: Combiner[int, int] = Combiner(run_batch)
    outcomes: list[str] = []

    def worker(i: int) -> None:
        for k in range(10):
            try:
                assert c.submit(k) == k
                outcomes.append("ok")
            except OSError:
                outcomes.append("failed")

    run_threads(8, worker)
    assert len(outcomes) == 80
    assert 1 <= outcomes.count("failed") < 80
    assert c.submit(7) == 7  # the combiner keeps working after a failed batch


def test_one_callers_internal_error_does_not_fail_the_others(hub: VerifyHub, registry: Registry) -> None:
    verify_link(hub, PEOPLE[0], MOBILES[0], ACTIVE_POSTCODES[0])
    verify_link(hub, PEOPLE[1], MOBILES[1], ACTIVE_POSTCODES[1])

    def flaky(postcode: str) -> str | None:
        if postcode == ACTIVE_POSTCODES[1]:
            raise ConnectionError("registry shard down")
        return registry(postcode)

    hub._core.postcode_status = flaky
    outcomes: list[str] = []

    def worker(i: int) -> None:
        for _ in range(10):
            p = ACTIVE_POSTCODES[i % 2]
            try:
                outcomes.append(
                    "yes" if hub.matching.match(f"org-{i}", PEOPLE[i % 2], p, "banking_kyc").matched else "no"
                )
            except ConnectionError:
                outcomes.append("error")

    run_threads(6, worker)
    assert sorted(set(outcomes)) == ["error", "yes"]
    assert outcomes.count("yes") == outcomes.count("error") == 30
    audit = [r.entry.outcome for r in hub.store.audit_rows() if r.entry.action == "match"]
    assert audit.count("matched") == 30 and audit.count("error:internal") == 30
    with pytest.raises(ConnectionError):
        hub.matching.match("org-x", PEOPLE[1], ACTIVE_POSTCODES[1], "banking_kyc")
