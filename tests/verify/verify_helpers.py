"""Test helpers: a small registry, a controllable clock, and workflow shortcuts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from jinef.model.digits import to_latin_digits
from jinef.read.verify import VerifyHub
from jinef.read.verify import national_code as nc

ACTIVE_POSTCODES = [f"13579{i:05d}" for i in range(1, 41)]
RETIRED_POSTCODE = "1357999999"
UNKNOWN_POSTCODE = "1357988888"
# National codes chosen so their digits appear nowhere else in the test data.
PEOPLE = [nc.complete(f"{n:09d}") for n in (424242424, 313131313, 575757575, 686868686, 797979797)]
MOBILES = ["09187654321", "09351112233", "09019998877", "09904445566", "09127776655"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 21, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Registry:
    """The registry as the hub sees it: a postcode → status callable the test can change."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {p: "active" for p in ACTIVE_POSTCODES}
        self.status[RETIRED_POSTCODE] = "retired"

    def __call__(self, postcode: str) -> str | None:
        return self.status.get(postcode)


HubFactory = Callable[..., VerifyHub]


def last_code(hub: VerifyHub, ref: str) -> str:
    """The one-time code of the newest outbox message for a request or challenge."""
    body = hub.outbox(limit=1, ref=ref)[0].body
    found = re.search(r"\d{6}", to_latin_digits(body))
    assert found, body
    return found.group()


def verify_link(hub: VerifyHub, person: str, mobile: str, postcode: str, role: str = "resident") -> str:
    """Run the whole workflow to a verified link; returns the request id."""
    req = hub.workflow.request(person, mobile, postcode, role)
    hub.workflow.visit(req.id, agent="postman-12")
    hub.workflow.confirm(req.id, last_code(hub, req.id), agent="postman-12")
    return req.id
