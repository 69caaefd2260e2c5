"""The storage interface of the verification hub, and the records it stores.

Service code talks only to :class:`VerifyStore` and :class:`VerifyTx`; SQL lives in the
engines (``sqlite_store.py``, ``postgres_store.py``, and the queries they share in ``sql_store.py``).
Records hold hashes, never clear national codes or mobiles. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from jinef.common.messages import DEFAULT_LANGUAGE, Message, message


class State(StrEnum):
    """Where a verification request («احراز نشانی») stands."""

    REQUESTED = "requested"  # stored, code not yet handed to the SMS gateway
    CODE_SENT = "code_sent"  # the citizen has the one-time code
    VISITED = "visited"  # a field agent is at the door
    VERIFIED = "verified"  # the agent entered the right code: the link holds
    REJECTED = "rejected"  # the agent said no, or the code was wrong too often
    EXPIRED = "expired"  # the code's time to live passed before confirmation
    ENDED = "ended"  # a verified link that no longer holds (moved out, sold)


OPEN_STATES: tuple[str, ...] = (State.REQUESTED, State.CODE_SENT, State.VISITED)
# States that count against the per-person and per-postcode limits.
ACTIVE_STATES: tuple[str, ...] = (*OPEN_STATES, State.VERIFIED)


class Role(StrEnum):
    """How a person is linked to an address."""

    RESIDENT = "resident"
    OWNER = "owner"
    TENANT = "tenant"
    BUSINESS = "business"


class ChallengeState(StrEnum):
    """A citizen's one-time-code challenge (for listing their own addresses)."""

    OPEN = "open"
    USED = "used"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Link:
    """One verification request and, once verified, the person ↔ postcode link it proves."""

    id: str
    nc_hash: bytes = field(repr=False)
    mobile_hash: bytes = field(repr=False)
    postcode: str
    role: str
    state: str
    requested_at: datetime
    updated_at: datetime
    code_hash: bytes | None = field(default=None, repr=False)
    code_expires_at: datetime | None = None
    tries: int = 0
    sends: int = 0
    code_sent_at: datetime | None = None
    visited_at: datetime | None = None
    agent: str | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class VerifiedLink:
    """The part of a verified link a match needs: no identifiers, no hashes."""

    role: str
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class Challenge:
    """A one-time code sent to a citizen who wants to see their own verified addresses."""

    id: str
    nc_hash: bytes = field(repr=False)
    mobile_hash: bytes = field(repr=False)
    code_hash: bytes = field(repr=False)
    created_at: datetime
    expires_at: datetime
    tries: int = 0
    state: str = ChallengeState.OPEN


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An SMS written by the development gateway instead of being sent."""

    id: int | None
    created_at: datetime
    recipient: str  # masked: never the full number
    kind: str
    ref: str
    body: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What one audit record says. No national code, mobile or hash of one ever goes here."""

    ts: datetime
    org: str
    action: str
    purpose: str
    outcome: str
    trace_id: str
    subject: str = ""  # a request or challenge id, when the step belongs to one


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An audit record as stored: its sequence number and its place in the hash chain."""

    seq: int
    entry: AuditEntry
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class Seen:
    """One counted match query, shared so every process serving the hub counts every query."""

    ts: datetime
    org: str
    postcode: str
    code: str  # "nc:" + a fingerprint of the national code's keyed hash (never the code)


@dataclass(frozen=True, slots=True)
class Alert:
    """An enumeration alert raised by the abuse detector."""

    id: int | None
    ts: datetime
    org: str
    kind: str
    subject: str  # a postcode, or a fingerprint of a national code's hash
    distinct_count: int
    window_seconds: int
    blocked_until: datetime
    orgs: tuple[str, ...] = ()  # every organisation involved (an alert across organisations names them all)


class UnreadableAuditRecord(ValueError):
    """A stored audit record has a field that cannot be read (edited to the wrong type or an unparsable value);
    ``text`` says so in either language, ``str()`` in English."""

    def __init__(self, seq: int, field: str, detail: Message) -> None:
        self.text = message("audit.issue.unreadable", seq=seq, field=field, detail=detail)
        super().__init__(self.text.text(DEFAULT_LANGUAGE))
        self.seq = seq
        self.field = field
        self.detail = detail


# The action of the record written in front of the next ones when the head row was found missing
# (see SqliteTx.append_audit): the gap stays visible after the head is re-created.
HEAD_MISSING_ACTION = "audit_head_missing"


class StaleKeyVersion(Exception):
    """The database was re-keyed since this process computed its hashes; reload and retry."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the database is keyed with version {current}")
        self.current = current


class VerifyTx(Protocol):
    """Operations inside one atomic write transaction (all or nothing).

    Write transactions must be serialised against each other: limit checks count rows and
    the audit chain appends after the current head. SQLite gets this from ``BEGIN
    IMMEDIATE``; the PostgreSQL engine takes a transaction-level advisory lock.
    """

    def check_key_version(self, version: int) -> None:
        """Raise :class:`StaleKeyVersion` unless the database is keyed with ``version``."""

    def insert_link(self, link: Link) -> None:
        """Store a new request."""

    def get_link(self, link_id: str) -> Link | None:
        """One request, locked for this transaction."""

    def update_link(self, link: Link) -> None:
        """Write every mutable field of a request."""

    def count_active(
        self,
        *,
        nc_hash: bytes | None = None,
        postcode: str | None = None,
        role: str | None = None,
        verified_only: bool = False,
    ) -> int:
        """How many open or verified links (only verified ones with ``verified_only``) match every given filter."""

    def count_requests(self, mobile_hash: bytes, since: datetime) -> int:
        """Requests opened with this mobile since ``since``."""

    def due_links(self, now: datetime) -> list[Link]:
        """Open requests whose code expired before ``now``."""

    def verified_links_of(self, nc_hash: bytes, mobile_hash: bytes) -> list[Link]:
        """Verified links registered with this national code and this mobile."""

    def insert_challenge(self, challenge: Challenge) -> None:
        """Store a new citizen challenge."""

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        """One challenge, locked for this transaction."""

    def update_challenge(self, challenge: Challenge) -> None:
        """Write a challenge's tries and state."""

    def count_challenges(self, mobile_hash: bytes, since: datetime) -> int:
        """Challenges created for this mobile since ``since``."""

    def add_outbox(self, message: OutboxMessage) -> None:
        """Append an SMS to the development outbox."""

    def append_audit(self, entries: Sequence[AuditEntry]) -> list[AuditRow]:
        """Chain and append audit records after the current head."""

    def add_alert(self, alert: Alert) -> int:
        """Record an enumeration alert; returns its id."""

    def add_seen(self, seen: Sequence[Seen]) -> int:
        """Record counted match queries; returns the id of the last record written (or already there)."""

    def seen_after(self, after: int, since: datetime) -> tuple[list[Seen], int]:
        """Counted queries with an id above ``after`` and a time from ``since`` on, and the highest id."""

    def alerts_after(self, after: int) -> tuple[list[Alert], int]:
        """Alerts with an id above ``after``, and the highest id."""

    def forget_seen(self, before: datetime) -> None:
        """Drop counted queries older than the detector's window."""


class VerifyStore(Protocol):
    """A database holding the hub's tables; reads outside a transaction see a consistent snapshot."""

    def transaction(self) -> AbstractContextManager[VerifyTx]:
        """An atomic write transaction: committed on success, rolled back on any exception."""

    def key_state(self) -> tuple[int, dict[int, str]]:
        """The key version the data is hashed under (0 for a fresh database) and its check values."""

    def init_keys(self, version: int, checks: dict[int, str]) -> None:
        """Record the key version and check values of a fresh database (no-op if already set)."""

    def rewrap(
        self,
        from_version: int,
        to_version: int,
        step: Callable[[bytes], bytes],
        checks: dict[int, str],
        audit: Sequence[AuditEntry] = (),
    ) -> int:
        """Re-key every stored hash with ``step`` (and append ``audit``) in one transaction."""

    def find_verified(self, keys: Sequence[tuple[bytes, str]], key_version: int) -> list[list[VerifiedLink]]:
        """Verified links for each (national-code hash, postcode) pair, in order.

        Read in one snapshot with the key version: raises StaleKeyVersion on a mismatch.
        """

    def get_link(self, link_id: str) -> Link | None:
        """One request, read outside any transaction."""

    def outbox(self, limit: int = 50, ref: str | None = None) -> list[OutboxMessage]:
        """The newest development-outbox messages, optionally for one request or challenge."""

    def clear_unsealed_outbox(self) -> int:
        """Blank outbox texts an older version stored in clear (they hold one-time codes); returns how many."""

    def audit_rows(self) -> Iterator[AuditRow]:
        """Every audit record in sequence order."""

    def audit_head(self) -> tuple[int, bytes] | None:
        """The sequence number and hash of the last record appended (the chain's anchor)."""

    def alerts(self, since: datetime | None = None) -> list[Alert]:
        """Enumeration alerts, newest first."""

    def close(self) -> None:
        """Close every connection."""
