"""Enumeration detection: sliding windows per organisation, refusals with retry-after, alerts."""

from __future__ import annotations

import pytest
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, Clock, HubFactory, verify_link

from jinef.read.verify import (
    AbuseConfig,
    EnumerationSuspected,
    MatchQuery,
    OrganisationBlocked,
    VerifyConfig,
    VerifyHub,
)
from jinef.read.verify import national_code as nc

ORG = "shady-shop"
PURPOSE = "delivery"
CODES = [nc.complete(f"{n:09d}") for n in range(900000001, 900000040)]


def config(**kw: int) -> VerifyConfig:
    base = {
        "window_seconds": 600,
        "max_codes_per_postcode": 5,
        "max_postcodes_per_code": 4,
        "block_seconds": 900,
        "org_alerts_to_block": 3,
    }
    base.update(kw)
    return VerifyConfig(abuse=AbuseConfig(**base))


def test_many_codes_against_one_postcode(make_hub: HubFactory, clock: Clock) -> None:
    hub = make_hub(config=config())
    p = ACTIVE_POSTCODES[0]
    for code in CODES[:5]:
        assert not hub.matching.match(ORG, code, p, PURPOSE).matched
        clock.advance(seconds=10)
    for code in CODES[:5]:  # asking the same pairs again does not count twice
        hub.matching.match(ORG, code, p, PURPOSE)
    with pytest.raises(EnumerationSuspected) as e:
        hub.matching.match(ORG, CODES[5], p, PURPOSE)
    assert e.value.code == "enumeration_suspected" and e.value.http_status == 429
    assert e.value.details["reason"] == "codes_per_postcode"
    assert e.value.retry_after == 900
    assert "postcode" in e.value.message
    # Refused from now on for that postcode, even for a pair asked before, with a shrinking retry-after.
    clock.advance(seconds=100)
    with pytest.raises(EnumerationSuspected) as e2:
        hub.matching.match(ORG, CODES[0], p, PURPOSE)
    assert e2.value.retry_after == 800
    # Other organisations and other postcodes are unaffected.
    hub.matching.match("bank-melli", CODES[6], p, "banking_kyc")
    hub.matching.match(ORG, CODES[6], ACTIVE_POSTCODES[1], PURPOSE)
    alerts = hub.store.alerts()
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.org, a.kind, a.subject, a.distinct_count, a.window_seconds) == (
        ORG,
        "codes_per_postcode",
        p,
        6,
        600,
    )
    clock.advance(seconds=801)
    hub.matching.match(ORG, CODES[0], p, PURPOSE)  # the block is over


def test_one_code_against_many_postcodes(make_hub: HubFactory) -> None:
    hub = make_hub(config=config())
    for p in ACTIVE_POSTCODES[:4]:
        hub.matching.match(ORG, CODES[0], p, PURPOSE)
    with pytest.raises(EnumerationSuspected) as e:
        hub.matching.match(ORG, CODES[0], ACTIVE_POSTCODES[4], PURPOSE)
    assert e.value.details["reason"] == "postcodes_per_code"
    alert = hub.store.alerts()[0]
    assert alert.subject.startswith("nc:") and CODES[0] not in alert.subject


def test_the_window_slides(make_hub: HubFactory, clock: Clock) -> None:
    hub = make_hub(config=config())
    p = ACTIVE_POSTCODES[0]
    for code in CODES[:5]:
        hub.matching.match(ORG, code, p, PURPOSE)
        clock.advance(seconds=100)
    # Now at t=500: the first query (t=0) leaves the 600 s window at t>600.
    clock.advance(seconds=101)
    hub.matching.match(ORG, CODES[5], p, PURPOSE)  # the first code slid out
    with pytest.raises(EnumerationSuspected):
        hub.matching.match(ORG, CODES[6], p, PURPOSE)


def test_repeated_alerts_block_the_organisation(make_hub: HubFactory, clock: Clock) -> None:
    hub = make_hub(config=config(max_codes_per_postcode=2))
    for i in range(3):
        p = ACTIVE_POSTCODES[i]
        hub.matching.match(ORG, CODES[3 * i], p, PURPOSE)
        hub.matching.match(ORG, CODES[3 * i + 1], p, PURPOSE)
        with pytest.raises(EnumerationSuspected):
            hub.matching.match(ORG, CODES[3 * i + 2], p, PURPOSE)
    with pytest.raises(OrganisationBlocked) as e:
        hub.matching.match(ORG, CODES[20], ACTIVE_POSTCODES[10], PURPOSE)
    assert e.value.code == "organisation_blocked" and e.value.retry_after == 6 * 3600
    assert hub.store.alerts()[0].kind == "organisation"


def test_blocks_survive_a_restart(make_hub: HubFactory) -> None:
    hub = make_hub(config=config(max_codes_per_postcode=2))
    p = ACTIVE_POSTCODES[0]
    hub.matching.match(ORG, CODES[0], p, PURPOSE)
    hub.matching.match(ORG, CODES[1], p, PURPOSE)
    with pytest.raises(EnumerationSuspected):
        hub.matching.match(ORG, CODES[2], p, PURPOSE)
    hub.close()
    again = make_hub(config=config(max_codes_per_postcode=2))
    with pytest.raises(EnumerationSuspected):
        again.matching.match(ORG, CODES[0], p, PURPOSE)


def test_refused_matches_are_audited_and_batches_refuse_row_by_row(hub: VerifyHub) -> None:
    hub_cfg = hub.config.abuse.max_codes_per_postcode  # 5 in the fixture
    p = ACTIVE_POSTCODES[0]
    verify_link(hub, PEOPLE[0], MOBILES[0], p)
    queries = [MatchQuery(code, p, row_id=i) for i, code in enumerate(CODES[: hub_cfg + 2])]
    items = hub.matching.match_batch(ORG, queries, PURPOSE)
    assert [i.ok for i in items] == [True] * hub_cfg + [False, False]
    assert isinstance(items[-1].error, EnumerationSuspected)
    outcomes = [r.entry.outcome for r in hub.store.audit_rows() if r.entry.action == "match"]
    assert outcomes == ["not_matched"] * hub_cfg + ["refused:enumeration_suspected"] * 2


def test_per_code_blocks_survive_a_restart_too(make_hub: HubFactory) -> None:
    hub = make_hub(config=config(max_postcodes_per_code=2))
    hub.matching.match(ORG, CODES[0], ACTIVE_POSTCODES[0], PURPOSE)
    hub.matching.match(ORG, CODES[0], ACTIVE_POSTCODES[1], PURPOSE)
    with pytest.raises(EnumerationSuspected):
        hub.matching.match(ORG, CODES[0], ACTIVE_POSTCODES[2], PURPOSE)
    hub.close()
    again = make_hub(config=config(max_postcodes_per_code=2))
    with pytest.raises(EnumerationSuspected) as e:
        again.matching.match(ORG, CODES[0], ACTIVE_POSTCODES[0], PURPOSE)
    assert e.value.details["reason"] == "postcodes_per_code"
    again.matching.match(ORG, CODES[1], ACTIVE_POSTCODES[0], PURPOSE)  # another code is fine


def test_processes_serving_one_hub_count_as_one(make_hub: HubFactory, clock: Clock) -> None:
    """Two hubs on one database (as two worker processes are): the threshold holds for their sum."""
    a, b = make_hub(config=config()), make_hub(config=config())
    p = ACTIVE_POSTCODES[0]
    for i, code in enumerate(CODES[:5]):  # 5 distinct codes, alternating between the two
        assert not (a if i % 2 else b).matching.match(ORG, code, p, PURPOSE).matched
        clock.advance(seconds=1)
    with pytest.raises(EnumerationSuspected):
        a.matching.match(ORG, CODES[5], p, PURPOSE)
    # The block raised by one is enforced by the other, and the alert is stored once.
    with pytest.raises(EnumerationSuspected) as e:
        b.matching.match(ORG, CODES[0], p, PURPOSE)
    assert e.value.details["reason"] == "codes_per_postcode"
    assert len(a.store.alerts()) == 1
    # Repeated alerts raised through different processes block the organisation everywhere.
    b_codes = iter(CODES[10:])
    for hub, postcode in ((b, ACTIVE_POSTCODES[1]), (a, ACTIVE_POSTCODES[2])):
        for _ in range(5):
            hub.matching.match(ORG, next(b_codes), postcode, PURPOSE)
        with pytest.raises(EnumerationSuspected):
            hub.matching.match(ORG, next(b_codes), postcode, PURPOSE)
    with pytest.raises(OrganisationBlocked):
        a.matching.match(ORG, CODES[30], ACTIVE_POSTCODES[3], PURPOSE)
    with pytest.raises(OrganisationBlocked):
        b.matching.match(ORG, CODES[31], ACTIVE_POSTCODES[4], PURPOSE)


def test_a_restart_keeps_the_window_counts(make_hub: HubFactory, clock: Clock) -> None:
    first = make_hub(config=config())
    p = ACTIVE_POSTCODES[0]
    for code in CODES[:5]:
        first.matching.match(ORG, code, p, PURPOSE)
    first.close()
    again = make_hub(config=config())
    with pytest.raises(EnumerationSuspected):
        again.matching.match(ORG, CODES[5], p, PURPOSE)


def test_counts_older_than_the_window_are_not_taken_in(make_hub: HubFactory, clock: Clock) -> None:
    first = make_hub(config=config(window_seconds=600))
    p = ACTIVE_POSTCODES[0]
    for code in CODES[:5]:
        first.matching.match(ORG, code, p, PURPOSE)
    clock.advance(seconds=601)
    other = make_hub(config=config(window_seconds=600))
    for code in CODES[5:10]:  # the first five have left the window: five more are allowed
        assert not other.matching.match(ORG, code, p, PURPOSE).matched


def test_counted_queries_older_than_the_window_are_dropped(make_hub: HubFactory, clock: Clock) -> None:
    from datetime import timedelta

    from jinef.read.verify.store import Seen

    hub = make_hub(config=config())
    t0 = clock()
    rows = [Seen(t0 + timedelta(seconds=s), ORG, ACTIVE_POSTCODES[0], f"nc:{s}") for s in (0, 10, 20, 30)]
    with hub.store.transaction() as tx:
        last = tx.add_seen(rows)
        tx.forget_seen(t0 + timedelta(seconds=15))
        kept, top = tx.seen_after(0, t0)
        assert [x.code for x in kept] == ["nc:20", "nc:30"] and top == last
        assert [x.ts for x in kept] == [rows[2].ts, rows[3].ts]
        tx.forget_seen(t0 + timedelta(seconds=99))
        assert tx.seen_after(0, t0)[0] == []


def test_a_repeated_pair_refreshes_and_the_oldest_leaves_first(clock: Clock) -> None:
    """The window's bookkeeping: a repeat counts once and renews its time; expired items leave oldest first."""
    from datetime import timedelta

    from jinef.read.verify.abuse import SlidingWindowDetector

    detector = SlidingWindowDetector(AbuseConfig(window_seconds=60, max_codes_per_postcode=2))
    t0, p = clock(), ACTIVE_POSTCODES[0]
    a, b, c = (f"hash-{n}".encode() for n in "abc")
    detector.check(ORG, a, p, t0)
    detector.check(ORG, b, p, t0 + timedelta(seconds=10))
    detector.check(ORG, a, p, t0 + timedelta(seconds=20))  # the same pair again: still two codes, a renewed
    with pytest.raises(EnumerationSuspected):
        detector.check(ORG, c, p, t0 + timedelta(seconds=65))  # a (t0+20) and b (t0+10) are both inside
    fresh = SlidingWindowDetector(AbuseConfig(window_seconds=60, max_codes_per_postcode=2))
    for code, s in ((a, 0), (b, 10), (a, 20)):
        fresh.check(ORG, code, p, t0 + timedelta(seconds=s))
    fresh.check(ORG, c, p, t0 + timedelta(seconds=75))  # b has left (t0+10 < t0+15), a stays: two with c
    with pytest.raises(EnumerationSuspected):
        fresh.check(ORG, b, p, t0 + timedelta(seconds=76))  # b again is a third code now
    assert len(fresh.take_recorded()) == 4


def test_counts_are_exact_across_folds_of_the_window(clock: Clock) -> None:
    """Sightings folded into the arrays and recent ones count together, each pair once, each by its own time."""
    from datetime import datetime, timedelta

    from jinef.read.verify.abuse import SlidingWindowDetector

    def at(s: int) -> datetime:
        return clock() + timedelta(seconds=s)

    p = ACTIVE_POSTCODES[0]
    a, b, c, d = (f"hash-{n}".encode() for n in "abcd")

    def with_history() -> SlidingWindowDetector:
        detector = SlidingWindowDetector(AbuseConfig(window_seconds=100, max_codes_per_postcode=3))
        for code, s in ((a, 0), (b, 20), (a, 40), (c, 45)):  # folded every 10 s: three codes, a twice
            detector.check(ORG, code, p, at(s))
        return detector

    # At 115 the window starts at 15: a's first sighting has left but its second (40) has not, so a, b
    # and c are in it and d would be a fourth.
    with pytest.raises(EnumerationSuspected):
        with_history().check(ORG, d, p, at(115))
    # At 125 b (20) has left too: a, c and d make three.
    with_history().check(ORG, d, p, at(125))


def test_window_counts_match_a_plain_model_through_many_folds() -> None:
    """Thousands of keys (beyond one search stretch), sightings at random times, folds between: every
    count equals what a plain list of sightings says."""
    import random

    from jinef.read.verify.abuse import _DistinctWindow

    rng = random.Random(11)
    window = _DistinctWindow()
    seen: dict[int, list[tuple[int, int]]] = {}  # key -> (item, ms) of every sighting
    keys = [rng.getrandbits(64) for _ in range(3000)]
    now = 0
    for step in range(40):
        for _ in range(400):
            now += rng.randrange(0, 20)
            k, i = rng.choice(keys), rng.getrandbits(64) if rng.random() < 0.5 else 7
            window.add(k, i, now)
            seen.setdefault(k, []).append((i, now))
        since = now - 30000
        if step % 3 == 0:
            window.sweep(since)
        for k in rng.sample(keys, 200):
            for i in (7, rng.getrandbits(64)):
                held = {it for it, ts in seen.get(k, []) if ts >= since}
                assert window.count_with(k, i, since) == len(held) + (i not in held), (step, k, i)
