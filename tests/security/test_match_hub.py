"""The match hub's side channels, tried as an attacker would against the real server (cases 1, 2, 8 and 9)."""

from __future__ import annotations

import json
import sqlite3

from tests.security.conftest import Postcodes, Server, cli, mobiles, people, post

PURPOSE = "banking_kyc"


def _match(client: object, national_code: str, postcode: str) -> int:
    r = post(client, "/v1/match", {"national_code": national_code, "postcode": postcode,  # type: ignore[arg-type]
                                   "purpose": PURPOSE})
    assert r.status_code in (200, 429), r.text
    if r.status_code == 429:
        assert r.json()["error"]["code"] == "enumeration_suspected" and int(r.headers["Retry-After"]) >= 1
    return r.status_code


def _verify(server: Server, portal: str, agent: str, person: str, mobile: str, postcode: str,
            role: str = "resident") -> str:
    """A whole verification through the API; returns the request id."""
    with server.client(portal) as p, server.client(agent) as a:
        r = post(p, "/v1/verifications", {"national_code": person, "mobile": mobile, "postcode": postcode,
                                          "role": role})
        assert r.status_code == 201, r.text
        rid = str(r.json()["id"])
        assert post(a, f"/v1/verifications/{rid}/visit", {"agent": "postman-1"}).status_code == 200
        r = post(a, f"/v1/verifications/{rid}/confirm", {"agent": "postman-1", "code": server.otp(rid)})
        assert r.status_code == 200 and r.json()["state"] == "verified", r.text
    return rid


def test_case01_organisations_sharing_an_enumeration_are_refused_and_all_named(
        server: Server, postcodes: Postcodes) -> None:
    """Five organisations, ten different national codes each, one postcode: the cross-organisation limit holds."""
    (target,) = postcodes.take(1)
    codes = people(50)
    orgs = [f"sec1-enum-{i}" for i in range(5)]
    answered = refused = 0
    for i, org in enumerate(orgs):
        with server.client(server.key(org, ("match",))) as c:
            for nc in codes[i * 10:(i + 1) * 10]:  # ten each: every organisation stays within its own limit
                if _match(c, nc, target) == 200:
                    answered += 1
                else:
                    refused += 1
    assert answered <= 20 and refused >= 30, (answered, refused)
    out = cli("verify", "alerts", "--verify-db", str(server.verify_db), "--json")
    assert out.returncode == 0, out.stderr
    alerts = [a for a in json.loads(out.stdout) if a["subject"] == target]
    assert alerts, "no alert for the enumerated postcode"
    named = alerts[0]["orgs"]  # the newest alert on it names every organisation that took part
    assert sorted(o.split(".", 1)[1] for o in named) == orgs, named


def test_case02_a_verification_request_answers_the_same_whether_or_not_a_link_exists(
        server: Server, postcodes: Postcodes) -> None:
    portal = server.key("sec2-portal", ("verify_request",))
    post_office = server.key("sec2-post", ("field_agent",))
    snoop = server.key("sec2-snoop", ("verify_request",))
    person, stranger = people(2)
    m_person, m_snoop1, m_snoop2 = mobiles(3)
    (home,) = postcodes.take(1)
    _verify(server, portal, post_office, person, m_person, home)
    with server.client(snoop) as c:
        linked = post(c, "/v1/verifications", {"national_code": person, "mobile": m_snoop1, "postcode": home,
                                               "role": "resident"})
        unlinked = post(c, "/v1/verifications", {"national_code": stranger, "mobile": m_snoop2, "postcode": home,
                                                 "role": "resident"})
    assert linked.status_code == unlinked.status_code == 201, (linked.text, unlinked.text)
    a, b = linked.json(), unlinked.json()
    assert set(a) == set(b) and a["state"] == b["state"] == "code_sent" and a["tries_left"] == b["tries_left"]


def test_case02_requests_cannot_lock_a_person_out_and_are_counted_by_the_detector(
        server: Server, postcodes: Postcodes) -> None:
    portal = server.key("sec2b-portal", ("verify_request",))
    post_office = server.key("sec2b-post", ("field_agent",))
    attacker = server.key("sec2b-attacker", ("verify_request",))
    (victim,) = people(1)
    places = postcodes.take(7)
    statuses = []
    with server.client(attacker) as c:
        for place, mobile in zip(places[:6], mobiles(6), strict=True):
            r = post(c, "/v1/verifications", {"national_code": victim, "mobile": mobile, "postcode": place,
                                              "role": "owner"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["error"]["code"] == "enumeration_suspected"
    # One code asked at six postcodes by one organisation: the enumeration detector counts requests too.
    assert statuses[:5] == [201] * 5 and statuses[5] == 429, statuses
    # The open requests hold no slot: the person is still verified at home.
    _verify(server, portal, post_office, victim, mobiles(1)[0], places[6])


def test_case02_requests_cannot_fill_a_postcode(server: Server, postcodes: Postcodes) -> None:
    portal = server.key("sec2c-portal", ("verify_request",))
    post_office = server.key("sec2c-post", ("field_agent",))
    attacker = server.key("sec2c-attacker", ("verify_request",))
    (flat,) = postcodes.take(1)
    statuses = []
    with server.client(attacker) as c:
        for person, mobile in zip(people(12), mobiles(12), strict=True):
            statuses.append(post(c, "/v1/verifications", {"national_code": person, "mobile": mobile,
                                                          "postcode": flat, "role": "tenant"}).status_code)
    assert statuses[:10] == [201] * 10 and set(statuses[10:]) == {429}, statuses
    (resident,) = people(1)
    _verify(server, portal, post_office, resident, mobiles(1)[0], flat)


def test_case08_organisation_names_cannot_collide_inside_the_hub(server: Server, postcodes: Postcodes) -> None:
    melli = server.key("Bank Melli", ("match",))
    twin = server.key(f"org{server.org_id('Bank Melli')}", ("match",))  # the name Bank Melli once had in the hub
    (target,) = postcodes.take(1)
    codes = people(11)
    with server.client(twin) as c:
        assert [_match(c, nc, target) for nc in codes[:10]] == [200] * 10  # at its own limit, not over it
    with server.client(melli) as c:
        assert _match(c, codes[10], target) == 200  # Bank Melli's own count is 1, not 11
    with sqlite3.connect(server.verify_db) as conn:
        labels = [r[0] for r in conn.execute(
            "SELECT org FROM verify_audit WHERE action = 'match' ORDER BY seq DESC LIMIT 11")]
    assert len(set(labels)) == 2, labels  # two audit identities


def test_case09_an_agent_cannot_act_on_another_organisations_visit(server: Server, postcodes: Postcodes) -> None:
    portal = server.key("sec9-portal", ("verify_request",))
    agent_a = server.key("sec9-post-a", ("field_agent",))
    agent_b = server.key("sec9-post-b", ("field_agent",))
    (person,) = people(1)
    (home,) = postcodes.take(1)
    with server.client(portal) as p, server.client(agent_a) as a, server.client(agent_b) as b:
        rid = post(p, "/v1/verifications", {"national_code": person, "mobile": mobiles(1)[0], "postcode": home,
                                            "role": "resident"}).json()["id"]
        assert post(a, f"/v1/verifications/{rid}/visit", {"agent": "postman-7"}).status_code == 200
        # The id has leaked to another organisation's agent: it can neither reject nor confirm, nor see it.
        r = post(b, f"/v1/verifications/{rid}/reject", {"agent": "postman-9", "reason": "not_at_address"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "request_not_found", r.text
        r = post(b, f"/v1/verifications/{rid}/confirm", {"agent": "postman-9", "code": server.otp(rid)})
        assert r.status_code == 404, r.text
        assert b.get(f"/v1/verifications/{rid}").status_code == 404
        r = post(a, f"/v1/verifications/{rid}/confirm", {"agent": "postman-7", "code": server.otp(rid)})
        assert r.status_code == 200 and r.json()["state"] == "verified", r.text
