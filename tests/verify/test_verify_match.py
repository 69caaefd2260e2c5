"""The match service (Shahkar pattern) and the citizen's own view."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from verify_helpers import ACTIVE_POSTCODES, MOBILES, PEOPLE, Clock, Registry, last_code, verify_link

from jinef.model.digits import to_persian_digits
from jinef.read.verify import (
    ChallengeLimitReached,
    ChallengeNotFound,
    CodeExpired,
    InvalidArgument,
    InvalidNationalCode,
    MatchQuery,
    TooManyTries,
    VerifyHub,
    WrongCode,
)

P0, P1, P2, P3 = ACTIVE_POSTCODES[:4]
ORG = "bank-melli"
PURPOSE = "banking_kyc"


@pytest.fixture
def seeded(hub: VerifyHub, clock: Clock) -> VerifyHub:
    """PEOPLE[0] verified resident of P0 (and owner of P0 a year later); PEOPLE[1] pending at P1."""
    verify_link(hub, PEOPLE[0], MOBILES[0], P0, "resident")
    clock.advance(days=365)
    verify_link(hub, PEOPLE[0], MOBILES[0], P0, "owner")
    hub.workflow.request(PEOPLE[1], MOBILES[1], P1, "tenant")
    rid = verify_link(hub, PEOPLE[2], MOBILES[2], P2, "business")
    hub.workflow.end(rid, "business_closed", actor="citizen")
    rej = hub.workflow.request(PEOPLE[3], MOBILES[3], P3, "resident")
    hub.workflow.reject(rej.id, "not_at_address", agent="postman-12")
    return hub


def test_match_yes(seeded: VerifyHub) -> None:
    r = seeded.matching.match(ORG, to_persian_digits(PEOPLE[0]), f"{P0[:5]}-{P0[5:]}", PURPOSE)
    assert r.matched and r.role == "resident" and r.verified_since == date(2025, 3, 21)
    assert len(r.trace_id) == 32
    owner = seeded.matching.match(ORG, PEOPLE[0], P0, PURPOSE, role="owner")
    assert owner.matched and owner.role == "owner" and owner.verified_since == date(2026, 3, 21)
    assert not seeded.matching.match(ORG, PEOPLE[0], P0, PURPOSE, role="tenant").matched


@pytest.mark.parametrize(
    ("person", "postcode"),
    [
        (PEOPLE[0], P1),  # a verified person, another postcode
        (PEOPLE[1], P1),  # a pending request is not a verified address
        (PEOPLE[2], P2),  # an ended link
        (PEOPLE[3], P3),  # a rejected request
        (PEOPLE[4], P0),  # nobody we know, at a known postcode
        (PEOPLE[4], "1357988888"),  # a postcode the registry does not know
    ],
)
def test_a_non_match_says_nothing_else(seeded: VerifyHub, person: str, postcode: str) -> None:
    r = seeded.matching.match(ORG, person, postcode, PURPOSE)
    assert (r.matched, r.role, r.verified_since) == (False, None, None)
    assert set(r.as_dict()) == {"matched", "role", "verified_since", "trace_id"}


def test_a_retired_postcode_no_longer_matches(seeded: VerifyHub, registry: Registry) -> None:
    registry.status[P0] = "retired"
    assert not seeded.matching.match(ORG, PEOPLE[0], P0, PURPOSE).matched


def test_bad_input_is_refused_and_audited_without_the_code(seeded: VerifyHub, db_path: Path) -> None:
    bad = PEOPLE[0][:9] + str((int(PEOPLE[0][9]) + 1) % 10)
    with pytest.raises(InvalidNationalCode) as e:
        seeded.matching.match(ORG, bad, P0, PURPOSE)
    assert len(e.value.details["trace_id"]) == 32
    with pytest.raises(InvalidArgument):
        seeded.matching.match(ORG, PEOPLE[0], P0, "curiosity")
    with pytest.raises(InvalidArgument):
        seeded.matching.match(PEOPLE[0], PEOPLE[0], P0, PURPOSE)  # an org id that is a national code
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT org, purpose, outcome, trace_id FROM verify_audit WHERE action = 'match' ORDER BY seq"
        ).fetchall()
    assert rows[0] == (ORG, PURPOSE, "refused:invalid_national_code", e.value.details["trace_id"])
    assert rows[1][1:3] == ("invalid", "refused:invalid_argument")
    assert rows[2][0] == "invalid"


def test_every_match_is_audited_with_its_trace_id(seeded: VerifyHub, db_path: Path) -> None:
    yes = seeded.matching.match(ORG, PEOPLE[0], P0, PURPOSE)
    no = seeded.matching.match("irancell", PEOPLE[4], P0, "telecom_subscription")
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT org, purpose, outcome, trace_id FROM verify_audit WHERE action = 'match' ORDER BY seq"
        ).fetchall()
    assert rows == [
        (ORG, PURPOSE, "matched", yes.trace_id),
        ("irancell", "telecom_subscription", "not_matched", no.trace_id),
    ]


def test_batch(seeded: VerifyHub, db_path: Path) -> None:
    items = seeded.matching.match_batch(
        ORG,
        [
            MatchQuery(PEOPLE[0], P0, row_id=1),
            MatchQuery(PEOPLE[0], P1, row_id=2),
            MatchQuery("12345", P0, row_id=3),
            MatchQuery(PEOPLE[0], P0, row_id=4, role="owner"),
        ],
        PURPOSE,
    )
    assert [i.row_id for i in items] == [1, 2, 3, 4]
    assert items[0].result is not None and items[0].result.matched
    assert items[1].result is not None and not items[1].result.matched
    assert not items[2].ok and isinstance(items[2].error, InvalidNationalCode)
    assert items[3].result is not None and items[3].result.role == "owner"
    with sqlite3.connect(db_path) as conn:
        n = conn.execute("SELECT COUNT(*) FROM verify_audit WHERE action = 'match'").fetchone()[0]
    assert n == 4


def test_citizen_lists_own_verified_addresses(seeded: VerifyHub) -> None:
    ch = seeded.citizen.challenge(PEOPLE[0], "+989187654321")
    assert seeded.outbox(ref=ch.id)[0].kind == "citizen"
    found = seeded.citizen.addresses(ch.id, last_code(seeded, ch.id))
    assert {(a.postcode, a.role) for a in found} == {(P0, "resident"), (P0, "owner")}
    with pytest.raises(ChallengeNotFound):  # single use
        seeded.citizen.addresses(ch.id, last_code(seeded, ch.id))


def test_citizen_with_another_mobile_sees_nothing(seeded: VerifyHub) -> None:
    # Knowing someone's national code is not enough: the links must be registered with this mobile.
    ch = seeded.citizen.challenge(PEOPLE[0], MOBILES[4])
    assert seeded.citizen.addresses(ch.id, last_code(seeded, ch.id)) == []


def test_citizen_wrong_code_and_expiry(seeded: VerifyHub, clock: Clock) -> None:
    ch = seeded.citizen.challenge(PEOPLE[0], MOBILES[0])
    code = last_code(seeded, ch.id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(WrongCode):
        seeded.citizen.addresses(ch.id, wrong)
    with pytest.raises(WrongCode):
        seeded.citizen.addresses(ch.id, wrong)
    with pytest.raises(TooManyTries):
        seeded.citizen.addresses(ch.id, wrong)
    with pytest.raises(ChallengeNotFound):
        seeded.citizen.addresses(ch.id, code)
    ch2 = seeded.citizen.challenge(PEOPLE[0], MOBILES[0])
    clock.advance(minutes=6)
    with pytest.raises(CodeExpired):
        seeded.citizen.addresses(ch2.id, last_code(seeded, ch2.id))


def test_citizen_challenges_are_limited_per_mobile(seeded: VerifyHub, clock: Clock) -> None:
    for _ in range(5):
        seeded.citizen.challenge(PEOPLE[0], MOBILES[0])
    with pytest.raises(ChallengeLimitReached) as e:
        seeded.citizen.challenge(PEOPLE[0], MOBILES[0])
    assert e.value.http_status == 429
    clock.advance(hours=1, seconds=1)
    seeded.citizen.challenge(PEOPLE[0], MOBILES[0])


def test_a_large_batch_spans_several_lookup_statements(make_hub) -> None:  # type: ignore[no-untyped-def]
    from jinef.read.verify import AbuseConfig, VerifyConfig
    from jinef.read.verify import national_code as nc

    hub = make_hub(config=VerifyConfig(abuse=AbuseConfig(max_codes_per_postcode=10_000)))
    verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    verify_link(hub, PEOPLE[1], MOBILES[1], P1, "owner")
    strangers = [nc.complete(f"{n:09d}") for n in range(800000001, 800000601)]
    queries = [MatchQuery(code, P0, row_id=i) for i, code in enumerate(strangers)]
    queries.insert(300, MatchQuery(PEOPLE[0], P0, row_id=-1))
    queries.append(MatchQuery(PEOPLE[1], P1, row_id=-2))
    items = hub.matching.match_batch(ORG, queries, PURPOSE)
    assert len(items) == 602
    hits = {i.row_id: i.result.role for i in items if i.result is not None and i.result.matched}
    assert hits == {-1: "resident", -2: "owner"}


def test_awaited_matches_are_grouped_answered_and_audited(seeded: VerifyHub) -> None:
    """Concurrent amatch calls in one event loop: right answers, one audit record each, fewer commits than calls."""
    import asyncio

    groups: list[int] = []
    run_group = seeded.matching.match_group

    def counting(items: list[tuple[str, str, MatchQuery]]) -> list[object]:
        groups.append(len(items))
        return run_group(items)  # type: ignore[return-value]

    seeded.matching.match_group = counting  # type: ignore[method-assign]  # sees the groups, runs the real thing
    before = sum(1 for r in seeded.store.audit_rows() if r.entry.action == "match")
    asks = [(PEOPLE[0], P0), (PEOPLE[0], P1), (PEOPLE[4], P0), (PEOPLE[1], P1)] * 10

    async def ask_all() -> list[object]:
        calls = [seeded.matching.amatch(ORG, p, c, PURPOSE) for p, c in asks]
        calls.append(seeded.matching.amatch(ORG, "1234", P0, PURPOSE))  # refused alone, the others answered
        return await asyncio.gather(*calls, return_exceptions=True)

    *answers, refused = asyncio.run(ask_all())
    assert [getattr(a, "matched", None) for a in answers] == [True, False, False, False] * 10
    assert isinstance(refused, InvalidNationalCode)
    assert sum(groups) == len(asks) + 1 and len(groups) < len(asks)  # grouped: one commit per group
    after = [r for r in seeded.store.audit_rows() if r.entry.action == "match"]
    assert len(after) - before == len(asks) + 1
    assert {r.entry.trace_id for r in after[before:]} >= {a.trace_id for a in answers}  # type: ignore[attr-defined]
    assert seeded.verify_audit().ok
    # A second event loop (another asyncio.run) is served too once the first is done.
    again = asyncio.run(seeded.matching.amatch(ORG, PEOPLE[0], P0, PURPOSE))
    assert again.matched and again.role == "resident"
