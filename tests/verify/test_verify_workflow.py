"""The «احراز نشانی» workflow: states, codes, tries, expiry, limits, atomic steps."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from verify_helpers import (
    ACTIVE_POSTCODES,
    MOBILES,
    PEOPLE,
    RETIRED_POSTCODE,
    UNKNOWN_POSTCODE,
    Clock,
    HubFactory,
    Registry,
    last_code,
    verify_link,
)

from jinef.model.digits import to_persian_digits
from jinef.read.verify import (
    AlreadyLinked,
    CodeExpired,
    InvalidArgument,
    InvalidMobile,
    InvalidNationalCode,
    InvalidPostcode,
    InvalidState,
    PersonLimitReached,
    PostcodeLimitReached,
    PostcodeNotFound,
    PostcodeRetired,
    RequestLimitReached,
    RequestNotFound,
    ResendLimitReached,
    SmsFailed,
    State,
    TooManyTries,
    VerifyConfig,
    WrongCode,
)
from jinef.read.verify.sms import Sms

P0, P1, P2 = ACTIVE_POSTCODES[:3]


def audit_actions(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT action, outcome FROM verify_audit ORDER BY seq").fetchall()


def link_rows(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT id, state FROM verify_link ORDER BY requested_at").fetchall()


def test_full_workflow_to_verified(make_hub: HubFactory, clock: Clock, db_path: Path) -> None:
    hub = make_hub()
    req = hub.workflow.request(to_persian_digits(PEOPLE[0]), "+98 918 765 4321", "13579-00001", "resident")
    assert req.state == State.CODE_SENT
    assert req.postcode == P0 and req.tries_left == 3
    assert req.code_expires_at == clock.now + timedelta(hours=72)
    msg = hub.outbox(ref=req.id)[0]
    assert msg.recipient == "09*******21" and msg.kind == "verification"

    clock.advance(hours=30)
    visited = hub.workflow.visit(req.id, agent="postman-12")
    assert visited.state == State.VISITED and visited.agent == "postman-12"
    done = hub.workflow.confirm(req.id, last_code(hub, req.id), agent="postman-12")
    assert done.state == State.VERIFIED
    assert done.verified_at == clock.now
    assert hub.workflow.get(req.id).state == State.VERIFIED
    assert [a for a, _ in audit_actions(db_path)] == ["request", "code_sent", "visit", "confirm"]


def test_code_in_persian_digits_is_accepted_and_confirm_without_visit_works(hub) -> None:  # type: ignore[no-untyped-def]
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "owner")
    code = last_code(hub, req.id)
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    done = hub.workflow.confirm(req.id, f" {persian} ", agent="postman-12")
    assert done.state == State.VERIFIED


def test_wrong_code_counts_tries_then_rejects(hub, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    right = last_code(hub, req.id)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(WrongCode) as e1:
        hub.workflow.confirm(req.id, wrong, agent="postman-12")
    assert e1.value.details["tries_left"] == 2 and e1.value.code == "wrong_code"
    assert hub.workflow.get(req.id).tries_left == 2  # the try was committed although an error was raised
    with pytest.raises(WrongCode):
        hub.workflow.confirm(req.id, wrong, agent="postman-12")
    with pytest.raises(TooManyTries):
        hub.workflow.confirm(req.id, wrong, agent="postman-12")
    info = hub.workflow.get(req.id)
    assert info.state == State.REJECTED and info.reason == "too_many_tries"
    with pytest.raises(InvalidState) as e2:
        hub.workflow.confirm(req.id, right, agent="postman-12")  # the right code is too late now
    assert e2.value.details["state"] == "rejected"
    outcomes = [o for a, o in audit_actions(db_path) if a == "confirm"]
    assert outcomes == ["wrong_code", "wrong_code", "rejected:too_many_tries", "refused:invalid_state"]


def test_code_expires(hub, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    code = last_code(hub, req.id)
    clock.advance(hours=72, seconds=1)
    with pytest.raises(CodeExpired):
        hub.workflow.confirm(req.id, code, agent="postman-12")
    assert hub.workflow.get(req.id).state == State.EXPIRED


def test_expire_due_sweeps_open_requests(hub, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    a = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    b = hub.workflow.request(PEOPLE[1], MOBILES[1], P1, "resident")
    verify_link(hub, PEOPLE[2], MOBILES[2], P2)
    clock.advance(hours=71)
    assert hub.workflow.expire_due() == 0
    clock.advance(hours=2)
    assert hub.workflow.expire_due() == 2
    assert {hub.workflow.get(a.id).state, hub.workflow.get(b.id).state} == {State.EXPIRED}
    # An expired request no longer counts: the person can ask again.
    hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")


def test_agent_rejects_with_a_reason(hub) -> None:  # type: ignore[no-untyped-def]
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "tenant")
    hub.workflow.visit(req.id, agent="postman-12")
    with pytest.raises(InvalidArgument) as e:
        hub.workflow.reject(req.id, "he looked shifty", agent="postman-12")
    assert "identity_mismatch" in e.value.details["allowed"]
    out = hub.workflow.reject(req.id, "identity_mismatch", agent="postman-12")
    assert out.state == State.REJECTED and out.reason == "identity_mismatch"
    with pytest.raises(InvalidState):
        hub.workflow.visit(req.id, agent="postman-12")


def test_request_input_errors(hub, registry: Registry, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidNationalCode) as e:
        hub.workflow.request(PEOPLE[0][:9] + str((int(PEOPLE[0][9]) + 1) % 10), MOBILES[0], P0, "resident")
    assert e.value.details["reasons"] == ["bad_check_digit"] and e.value.http_status == 422
    with pytest.raises(InvalidMobile):
        hub.workflow.request(PEOPLE[0], "02188888888", P0, "resident")
    with pytest.raises(InvalidPostcode) as e2:
        hub.workflow.request(PEOPLE[0], MOBILES[0], "1045678901", "resident")
    assert e2.value.details["reasons"] == ["zero_or_two_in_first_five"]
    with pytest.raises(InvalidArgument):
        hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "landlord")
    with pytest.raises(PostcodeNotFound):
        hub.workflow.request(PEOPLE[0], MOBILES[0], UNKNOWN_POSTCODE, "resident")
    with pytest.raises(PostcodeRetired):
        hub.workflow.request(PEOPLE[0], MOBILES[0], RETIRED_POSTCODE, "resident")
    assert link_rows(db_path) == []  # nothing was stored for any refused request
    outcomes = [o for a, o in audit_actions(db_path)]
    assert outcomes == [
        "refused:invalid_national_code",
        "refused:invalid_mobile",
        "refused:invalid_postcode",
        "refused:invalid_argument",
        "refused:postcode_not_found",
        "refused:postcode_retired",
    ]


def test_limits_per_person_and_per_postcode(make_hub: HubFactory, db_path: Path) -> None:
    hub = make_hub(
        config=VerifyConfig(max_links_per_person=3, max_residences_per_person=1, max_links_per_postcode=2,
                            max_requests_per_mobile_per_hour=100)
    )
    verify_link(hub, PEOPLE[0], MOBILES[0], P0, "resident")

    def at_the_door(person: str, mobile: str, postcode: str, role: str) -> str:
        # A request answers the same whatever links exist (no oracle, no slot held): the limits are judged when
        # the agent confirms at the door, with the person proven there.
        req = hub.workflow.request(person, mobile, postcode, role)
        assert req.state == State.CODE_SENT
        hub.workflow.visit(req.id, agent="postman-12")
        hub.workflow.confirm(req.id, last_code(hub, req.id), agent="postman-12")
        return req.id

    with pytest.raises(AlreadyLinked) as dup:
        at_the_door(PEOPLE[0], MOBILES[0], P0, "resident")
    with pytest.raises(PersonLimitReached) as e:
        at_the_door(PEOPLE[0], MOBILES[0], P1, "resident")
    assert e.value.details == {"limit": 1, "scope": "residences", "trace_id": e.value.details["trace_id"]}
    verify_link(hub, PEOPLE[0], MOBILES[0], P0, "owner")  # same postcode, another role: fine
    verify_link(hub, PEOPLE[0], MOBILES[0], P1, "business")
    with pytest.raises(PersonLimitReached) as e2:
        at_the_door(PEOPLE[0], MOBILES[0], P2, "owner")
    assert e2.value.details["scope"] == "addresses" and e2.value.http_status == 409
    with pytest.raises(PostcodeLimitReached):
        at_the_door(PEOPLE[1], MOBILES[1], P0, "tenant")  # P0 has two verified links already
    states = [state for _, state in link_rows(db_path)]
    assert states.count("verified") == 3 and states.count("rejected") == 4
    assert dup.value.as_dict()["code"] == "already_linked"


def test_requests_hold_no_slot_and_are_limited_per_mobile(make_hub: HubFactory) -> None:
    hub = make_hub(config=VerifyConfig(max_links_per_person=1, max_requests_per_mobile_per_hour=3))
    # Open requests for someone's code lock nothing: the person can still be verified.
    for p in (P0, P1):
        hub.workflow.request(PEOPLE[0], MOBILES[1], p, "owner")
    verify_link(hub, PEOPLE[0], MOBILES[0], P2)
    hub.workflow.request(PEOPLE[1], MOBILES[1], P0, "owner")
    with pytest.raises(RequestLimitReached) as e:  # a fourth with the same mobile within the hour
        hub.workflow.request(PEOPLE[2], MOBILES[1], P1, "owner")
    assert e.value.http_status == 429


def test_end_frees_the_slot(make_hub: HubFactory) -> None:
    hub = make_hub(config=VerifyConfig(max_residences_per_person=1))
    rid = verify_link(hub, PEOPLE[0], MOBILES[0], P0)
    with pytest.raises(InvalidArgument):
        hub.workflow.end(rid, "bored", actor="citizen")
    ended = hub.workflow.end(rid, "moved_out", actor="citizen")
    assert ended.state == State.ENDED and ended.reason == "moved_out"
    verify_link(hub, PEOPLE[0], MOBILES[0], P1)


def test_unknown_request(hub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RequestNotFound) as e:
        hub.workflow.visit("vr_nope", agent="postman-12")
    assert e.value.http_status == 404 and e.value.as_dict()["code"] == "request_not_found"


def sms_code(sms: Sms) -> str:
    found = re.search(r"\d{6}", sms.body)
    assert found
    return found.group()


class FlakyGateway:
    """An SMS gateway that fails while ``down`` is set, and remembers what it delivered."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list[Sms] = []

    def send(self, sms: Sms) -> None:
        if self.down:
            raise ConnectionError("operator API unreachable")
        self.sent.append(sms)


def test_sms_failure_keeps_the_request_and_resend_recovers(make_hub: HubFactory, db_path: Path) -> None:
    gw = FlakyGateway()
    hub = make_hub(gateway=gw, config=VerifyConfig(max_code_sends=2))
    with pytest.raises(SmsFailed) as e:
        hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    rid = e.value.details["ref"]
    assert hub.workflow.get(rid).state == State.REQUESTED
    with pytest.raises(RequestNotFound):  # only the request's own mobile may ask for a resend
        hub.workflow.resend_code(rid, MOBILES[1])
    gw.down = False
    info = hub.workflow.resend_code(rid, MOBILES[0])
    assert info.state == State.CODE_SENT and gw.sent[0].to == MOBILES[0]
    with pytest.raises(ResendLimitReached):
        hub.workflow.resend_code(rid, MOBILES[0])
    code = sms_code(gw.sent[-1])
    assert hub.workflow.confirm(rid, code, agent="postman-12").state == State.VERIFIED


def test_resend_invalidates_the_old_code(make_hub: HubFactory) -> None:
    gw = FlakyGateway()
    gw.down = False
    hub = make_hub(gateway=gw)
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    old = sms_code(gw.sent[-1])
    hub.workflow.resend_code(req.id, MOBILES[0])
    new = sms_code(gw.sent[-1])
    if old != new:
        with pytest.raises(WrongCode):
            hub.workflow.confirm(req.id, old, agent="postman-12")
    assert hub.workflow.confirm(req.id, new, agent="postman-12").state == State.VERIFIED


def test_a_failure_inside_a_step_leaves_nothing_half_written(hub, registry: Registry, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    code = last_code(hub, req.id)
    before_links = link_rows(db_path)
    before_audit = audit_actions(db_path)

    def broken(postcode: str) -> str | None:
        raise RuntimeError("registry down")

    hub._core.postcode_status = broken
    with pytest.raises(RuntimeError):
        hub.workflow.confirm(req.id, code, agent="postman-12")
    assert link_rows(db_path) == before_links
    assert audit_actions(db_path) == before_audit
    with sqlite3.connect(db_path) as conn:
        state, tries, verified = conn.execute(
            "SELECT state, tries, verified_at FROM verify_link WHERE id = ?", (req.id,)
        ).fetchone()
    assert (state, tries, verified) == ("code_sent", 0, None)
    hub._core.postcode_status = registry
    assert hub.workflow.confirm(req.id, code, agent="postman-12").state == State.VERIFIED


def test_postcode_retired_before_the_visit(hub, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    req = hub.workflow.request(PEOPLE[0], MOBILES[0], P0, "resident")
    registry.status[P0] = "retired"
    with pytest.raises(PostcodeRetired):
        hub.workflow.confirm(req.id, last_code(hub, req.id), agent="postman-12")
    info = hub.workflow.get(req.id)
    assert info.state == State.REJECTED and info.reason == "postcode_retired"
