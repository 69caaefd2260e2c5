"""The verification hub: address verification workflow, match service, citizen view, key rotation.

Everything here talks to storage through :class:`VerifyStore`, never SQL. Every state change
and its audit record are written in one transaction. Refused calls are audited too, after
the refused transaction rolled back. National codes and mobiles are hashed on entry and
never leave this module in clear (not in errors, audit records, alerts or logs).
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from pathlib import Path
from typing import TypeVar

from jinef.common.group_commit import GroupCommit
from jinef.common.messages import message
from jinef.model import postcode as pc
from jinef.model.digits import to_latin_digits
from jinef.model.slots_init import slots_constructor
from jinef.read.verify import mobile as mob
from jinef.read.verify import national_code as ncode
from jinef.read.verify.abuse import SlidingWindowDetector
from jinef.read.verify.audit import AuditReport, AuditUnavailable, AuditWriter, verify_store
from jinef.read.verify.combine import Combiner
from jinef.read.verify.config import END_REASONS, REJECT_REASONS, VerifyConfig
from jinef.read.verify.engines import open_verify_store
from jinef.read.verify.errors import (
    AlreadyLinked,
    ChallengeLimitReached,
    ChallengeNotFound,
    CodeExpired,
    InvalidArgument,
    InvalidMobile,
    InvalidNationalCode,
    InvalidPostcode,
    InvalidState,
    KeyRingError,
    MatchRefused,
    PersonLimitReached,
    PostcodeLimitReached,
    PostcodeNotFound,
    PostcodeRetired,
    RequestLimitReached,
    RequestNotFound,
    ResendLimitReached,
    SmsFailed,
    SmsUnavailable,
    TooManyTries,
    VerifyError,
    WrongCode,
)
from jinef.read.verify.keys import Hasher, KeyRing, load_ring, otp_equal, wrap
from jinef.read.verify.seal import is_sealed, seal, unseal
from jinef.read.verify.sms import OutboxGateway, Sms, SmsGateway
from jinef.read.verify.store import (
    OPEN_STATES,
    Alert,
    AuditEntry,
    Challenge,
    ChallengeState,
    Link,
    OutboxMessage,
    Role,
    StaleKeyVersion,
    State,
    VerifyStore,
    VerifyTx,
)

PostcodeStatus = Callable[[str], str | None]
"""The registry as the hub sees it: "active", "retired" or None for a canonical postcode."""

ACTIVE = "active"
PURPOSE_WORKFLOW = "address_verification"
PURPOSE_CITIZEN = "own_addresses"
CITIZEN_ACTOR = "citizen"
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
_ID_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")

T = TypeVar("T")


# --- public results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What a caller may see of a verification request (no hashes, no code)."""

    id: str
    postcode: str
    role: str
    state: str
    requested_at: datetime
    code_expires_at: datetime | None
    tries_left: int
    agent: str | None
    verified_at: datetime | None
    reason: str | None

    def as_dict(self) -> dict[str, object]:
        """JSON form (times as ISO text)."""
        return {
            "id": self.id,
            "postcode": self.postcode,
            "role": self.role,
            "state": self.state,
            "requested_at": self.requested_at.isoformat(),
            "code_expires_at": self.code_expires_at.isoformat() if self.code_expires_at else None,
            "tries_left": self.tries_left,
            "agent": self.agent,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The answer to "is postcode P the verified address of national code N?"."""

    matched: bool
    role: str | None
    verified_since: date | None
    trace_id: str

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "matched": self.matched,
            "role": self.role,
            "verified_since": self.verified_since.isoformat() if self.verified_since else None,
            "trace_id": self.trace_id,
        }


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """One row of a batch match (``row_id`` is the client's, echoed back)."""

    national_code: str
    postcode: str
    row_id: int | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One row's answer in a batch: a result, or the error that refused this row alone."""

    row_id: int | None
    result: MatchResult | None
    error: VerifyError | None

    @property
    def ok(self) -> bool:
        """True when the row was answered (matched or not)."""
        return self.error is None

    def as_dict(self) -> dict[str, object]:
        """JSON form of one row: the result, or the error body."""
        return {
            "row_id": self.row_id,
            "ok": self.ok,
            "result": self.result.as_dict() if self.result is not None else None,
            "error": self.error.as_dict() if self.error is not None else None,
        }


@dataclass(frozen=True, slots=True)
class OwnAddress:
    """One of the citizen's own verified addresses."""

    postcode: str
    role: str
    verified_since: date


@dataclass(frozen=True, slots=True)
class ChallengeInfo:
    """A citizen challenge: its id (to present with the code) and when its code expires."""

    id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RotationResult:
    """What a key rotation did."""

    from_version: int
    to_version: int
    rehashed: int


# --- helpers -------------------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(10)


def _new_trace() -> str:
    return secrets.token_hex(16)


def _new_traces(n: int) -> list[str]:
    """``n`` trace ids as :func:`_new_trace` makes them, from one read of the system's random source."""
    raw = secrets.token_hex(16 * n)
    return [raw[i : i + 32] for i in range(0, 32 * n, 32)]


# The match path builds these per query (see jinef.model.slots_init).
_match_result = slots_constructor(MatchResult)
_audit_entry = slots_constructor(AuditEntry)
_match_query = slots_constructor(MatchQuery)


def _parse_nc(text: str) -> str:
    try:
        return ncode.parse(text)
    except ncode.NationalCodeError as exc:
        raise InvalidNationalCode(str(exc), reasons=list(exc.validation.reasons)) from None


def _parse_mobile(text: str) -> str:
    try:
        return mob.parse(text)
    except mob.MobileError as exc:
        raise InvalidMobile(str(exc), reasons=list(exc.validation.reasons)) from None


# Postcodes are public and few: caching their parse keeps the match path short.
_parse_postcode_cached = functools.lru_cache(maxsize=1 << 16)(pc.parse)


def _parse_postcode(text: str) -> str:
    try:
        return _parse_postcode_cached(text)
    except pc.PostcodeError as exc:
        # The postcode is not personal data, but echoing input is the HTTP layer's choice.
        raise InvalidPostcode(
            "invalid postcode: " + "; ".join(exc.validation.messages()), reasons=list(exc.validation.reasons)
        ) from None


@functools.lru_cache(maxsize=4096)
def _is_id(value: str) -> bool:
    # Remembered: a service has few organisations and purposes, and every match checks its caller's.
    return _ID_RE.match(value) is not None


def _check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _is_id(value):
        raise InvalidArgument(
            f"{kind} must be a lower-case identifier (letters, digits, _ . : -)", field=kind
        )
    return value


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidArgument(f"role must be one of {', '.join(ROLES)}", field="role", allowed=list(ROLES))
    return role


def _safe_label(value: object) -> str:
    # Audit records must never carry caller text that could be a national code.
    return value if isinstance(value, str) and _is_id(value) else "invalid"


def _limit_refusal(tx: VerifyTx, link: Link, cfg: VerifyConfig) -> VerifyError | None:
    """Why ``link`` may not become verified (the person's and the postcode's limits, on verified links), or None."""
    nc_h, role = link.nc_hash, link.role
    if tx.count_active(nc_hash=nc_h, postcode=link.postcode, role=role, verified_only=True):
        return AlreadyLinked("this person already has this postcode in this role")
    if tx.count_active(nc_hash=nc_h, verified_only=True) >= cfg.max_links_per_person:
        return PersonLimitReached(
            f"a person may have at most {cfg.max_links_per_person} verified addresses",
            limit=cfg.max_links_per_person,
            scope="addresses",
        )
    if role == Role.RESIDENT and (
        tx.count_active(nc_hash=nc_h, role=role, verified_only=True) >= cfg.max_residences_per_person
    ):
        return PersonLimitReached(
            f"a person may have at most {cfg.max_residences_per_person} verified residences",
            limit=cfg.max_residences_per_person,
            scope="residences",
        )
    if tx.count_active(postcode=link.postcode, verified_only=True) >= cfg.max_links_per_postcode:
        return PostcodeLimitReached(
            f"a postcode may have at most {cfg.max_links_per_postcode} verified links",
            limit=cfg.max_links_per_postcode,
        )
    return None


def _agent_label(agent: str, org: str | None) -> str:
    """An agent as recorded: under the organisation that vouches for it (``<org>:<agent>``) when one is given."""
    return agent if org is None else f"{org}:{agent}"


def _agent_may_act(link: Link, org: str | None) -> bool:
    """True unless ``org`` is given and an agent of another organisation has already taken the request."""
    return org is None or link.agent is None or link.agent.startswith(org + ":")


def _clean_code(code: str) -> str:
    return re.sub(r"\s+", "", to_latin_digits(str(code)))


def _info(link: Link, config: VerifyConfig) -> RequestInfo:
    return RequestInfo(
        id=link.id,
        postcode=link.postcode,
        role=link.role,
        state=link.state,
        requested_at=link.requested_at,
        code_expires_at=link.code_expires_at if link.state in OPEN_STATES else None,
        tries_left=max(0, config.max_code_tries - link.tries) if link.state in OPEN_STATES else 0,
        agent=link.agent,
        verified_at=link.verified_at,
        reason=link.reason,
    )


# --- the shared core -----------------------------------------------------------------------


class _Core:
    """What every service shares: store, keys, audit writer, clock, config, registry."""

    def __init__(
        self,
        store: VerifyStore,
        postcode_status: PostcodeStatus,
        ring_loader: Callable[[], KeyRing],
        config: VerifyConfig,
        gateway: SmsGateway | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.postcode_status = postcode_status
        self.config = config
        self.gateway = gateway
        self.clock = clock
        self._ring_loader = ring_loader
        self.hasher = self._load_hasher()
        self.audit = AuditWriter(store, group_commit=config.group_commit)

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        t = self.clock()
        return t if t.tzinfo is UTC else t.astimezone(UTC)

    def _load_hasher(self) -> Hasher:
        ring = self._ring_loader()
        version, checks = self.store.key_state()
        if version == 0:
            self.store.init_keys(ring.latest, {v: ring.check_value(v) for v in range(1, ring.latest + 1)})
            version, checks = self.store.key_state()  # another process may have initialised first
        hasher = Hasher(ring, check_ring(ring, version, checks))
        self.ring = ring  # the development outbox seals its messages with it
        return hasher

    def seal(self, text: str) -> str:
        """``text`` sealed under the database's current key version (see :mod:`jinef.read.verify.seal`)."""
        return seal(self.ring, self.hasher.version, text)

    def require_gateway(self) -> None:
        """Refuse a step that would text a one-time code when there is no gateway to send it (the caller audits)."""
        if self.gateway is None:
            raise SmsUnavailable("no SMS gateway is configured on this server, so no one-time code can be sent")

    def reload_keys(self) -> None:
        """Pick up a rotation made by another process."""
        self.hasher = self._load_hasher()

    def keyed(self, fn: Callable[[Hasher], T]) -> T:
        """Run ``fn`` with the current hasher; after a rotation elsewhere, reload keys and retry once."""
        try:
            return fn(self.hasher)
        except StaleKeyVersion:
            self.reload_keys()
            return fn(self.hasher)

    def entry(
        self, actor: str, action: str, purpose: str, outcome: str, trace: str, subject: str = ""
    ) -> AuditEntry:
        """An audit entry stamped now."""
        return AuditEntry(self.now(), _safe_label(actor), action, purpose, outcome, trace, subject)

    def step(
        self,
        action: str,
        actor: str,
        subject: str,
        body: Callable[[VerifyTx, Hasher], tuple[T, str, VerifyError | None]],
        purpose: str = PURPOSE_WORKFLOW,
    ) -> T:
        """One audited, atomic step.

        ``body`` returns (result, outcome, error): the state change and its audit record are
        committed together, then ``error`` (if any) is raised — so a wrong code still counts
        its try. An error raised inside ``body`` rolls everything back and is audited alone.
        """
        trace = _new_trace()

        def run(h: Hasher) -> tuple[T, VerifyError | None]:
            with self.store.transaction() as tx:
                tx.check_key_version(h.version)
                result, outcome, error = body(tx, h)
                tx.append_audit([self.entry(actor, action, purpose, outcome, trace, subject)])
            return result, error

        try:
            result, error = self.keyed(run)
        except VerifyError as exc:
            self.refused(actor, action, purpose, exc, trace, subject)
            raise
        if error is not None:
            error.details.setdefault("trace_id", trace)
            raise error
        return result

    def refused(
        self,
        actor: str,
        action: str,
        purpose: str,
        exc: VerifyError,
        trace: str | None = None,
        subject: str = "",
    ) -> None:
        """Audit a refused call (nothing else was written)."""
        trace = trace or _new_trace()
        exc.details.setdefault("trace_id", trace)
        self.audit.write(
            [self.entry(_safe_label(actor), action, purpose, "refused:" + exc.code, trace, subject)]
        )

    def send(self, sms: Sms, actor: str, purpose: str) -> None:
        """Hand a message to the gateway; a failure is audited and raised as SmsFailed."""
        try:
            if self.gateway is None:
                raise RuntimeError("no SMS gateway")
            self.gateway.send(sms)
        except Exception as exc:
            err = SmsFailed("the SMS gateway did not accept the message; try again", ref=sms.ref)
            self.refused(actor, "send_code", purpose, err, subject=sms.ref)
            raise err from exc

    def new_code(self) -> str:
        """A uniformly random one-time code of the configured length."""
        n = self.config.code_digits
        return f"{secrets.randbelow(10**n):0{n}d}"


def check_ring(ring: KeyRing, version: int, checks: Mapping[int, str]) -> int:
    """Make sure ``ring`` holds the keys the database was hashed with; return the version."""
    if ring.latest < version:
        raise KeyRingError(
            message("key_ring.database_ahead", version=version, latest=ring.latest),
            needed=version,
            available=ring.latest,
        )
    for v in range(1, version + 1):
        if checks.get(v) != ring.check_value(v):
            raise KeyRingError(message("key_ring.wrong_key", version=v))
    return version


# --- the verification workflow («احراز نشانی») ----------------------------------------------


class Workflow:
    """requested → code_sent → visited → verified | rejected | expired (and verified → ended).

    Opening a request answers the same whatever links exist: nothing about who is linked where is
    judged then. The hub cannot prove a national code remotely (a one-time code proves only that the
    caller holds the mobile, which may be the caller's own), so a request whose answer depended on
    existing links would be an oracle, and one that held a slot would let anyone lock a person out
    or fill a postcode. The person is proven at the door, by the field agent; the per-person and
    per-postcode limits and "already linked" are judged there, on verified links only, and told to
    that agent. Requests themselves are bounded by the enumeration detector (counted as matches of
    the requesting organisation), by the organisation's quota, and per mobile per hour.
    """

    def __init__(self, core: _Core, matching: MatchService) -> None:
        self._core = core
        self._matching = matching

    def request(
        self, national_code: str, mobile: str, postcode: str, role: str, *, actor: str = CITIZEN_ACTOR
    ) -> RequestInfo:
        """Open a request and text its one-time code to the citizen; returns the request."""
        core, cfg = self._core, self._core.config
        link_id = _new_id("vr_")
        try:
            _check_id("actor", actor)
            nc = _parse_nc(national_code)
            mobile_c = _parse_mobile(mobile)
            postcode_c = _parse_postcode(postcode)
            _check_role(role)
            core.require_gateway()  # before anything is counted or stored
            status = core.postcode_status(postcode_c)
            if status is None:
                raise PostcodeNotFound("the registry has no such postcode", postcode=postcode_c)
            if status != ACTIVE:
                raise PostcodeRetired(
                    "the postcode is retired; no address can be verified on it", postcode=postcode_c
                )
            # Counted like a match of the requesting organisation (across organisations too): asking about many
            # people at one postcode, or one person at many, through requests is enumeration all the same.
            core.keyed(lambda h: self._matching.count_request(actor, h.national_code(nc), postcode_c))
        except VerifyError as exc:
            core.refused(actor, "request", PURPOSE_WORKFLOW, exc)
            raise
        code = core.new_code()

        def body(tx: VerifyTx, h: Hasher) -> tuple[Link, str, VerifyError | None]:
            nc_h, mob_h = h.national_code(nc), h.mobile(mobile_c)
            now = core.now()
            # Only about the mobile the caller gave (never about links): bounds the texts one phone receives.
            if tx.count_requests(mob_h, now - timedelta(hours=1)) >= cfg.max_requests_per_mobile_per_hour:
                raise RequestLimitReached(
                    "too many verification requests were opened with this mobile in the last hour", retry_after=3600
                )
            link = Link(
                id=link_id,
                nc_hash=nc_h,
                mobile_hash=mob_h,
                postcode=postcode_c,
                role=role,
                state=State.REQUESTED,
                requested_at=now,
                updated_at=now,
                code_hash=h.otp(link_id, code),
                code_expires_at=now + timedelta(seconds=cfg.code_ttl_seconds),
                sends=1,
            )
            tx.insert_link(link)
            return link, State.REQUESTED, None

        core.step("request", actor, link_id, body)
        return self._send_code(link_id, mobile_c, code, actor)

    def _send_code(self, link_id: str, mobile_c: str, code: str, actor: str) -> RequestInfo:
        core = self._core
        body_text = f"Jinef: کد احراز نشانی شما {code} است. آن را فقط در محل به مأمور پست بدهید."
        core.send(Sms(mobile_c, body_text, "verification", link_id), actor, PURPOSE_WORKFLOW)

        def body(tx: VerifyTx, h: Hasher) -> tuple[Link, str, VerifyError | None]:
            link = self._load(tx, link_id)
            if link.state == State.REQUESTED:
                now = core.now()
                link = replace(link, state=State.CODE_SENT, code_sent_at=now, updated_at=now)
                tx.update_link(link)
            return link, State.CODE_SENT, None

        return _info(core.step("code_sent", actor, link_id, body), core.config)

    def resend_code(self, request_id: str, mobile: str, *, actor: str = CITIZEN_ACTOR) -> RequestInfo:
        """Send a fresh code (the old one stops working); needs the request's mobile again."""
        core, cfg = self._core, self._core.config
        try:
            mobile_c = _parse_mobile(mobile)
            core.require_gateway()
        except VerifyError as exc:
            core.refused(actor, "resend_code", PURPOSE_WORKFLOW, exc, subject=request_id)
            raise
        code = core.new_code()

        def body(tx: VerifyTx, h: Hasher) -> tuple[None, str, VerifyError | None]:
            link = self._load(tx, request_id)
            if link.state not in (State.REQUESTED, State.CODE_SENT):
                raise InvalidState(
                    f"a code cannot be resent for a request that is {link.state}", state=link.state
                )
            if not otp_equal(link.mobile_hash, h.mobile(mobile_c)):
                # Same answer as an unknown id: say nothing about whose request this is.
                raise RequestNotFound("no open request with this id for this mobile")
            if link.sends >= cfg.max_code_sends:
                raise ResendLimitReached(
                    f"the code was already sent {link.sends} times", limit=cfg.max_code_sends
                )
            now = core.now()
            tx.update_link(
                replace(
                    link,
                    code_hash=h.otp(link.id, code),
                    code_expires_at=now + timedelta(seconds=cfg.code_ttl_seconds),
                    tries=0,
                    sends=link.sends + 1,
                    updated_at=now,
                )
            )
            return None, "new_code", None

        core.step("resend_code", actor, request_id, body)
        return self._send_code(request_id, mobile_c, code, actor)

    def visit(self, request_id: str, *, agent: str, org: str | None = None) -> RequestInfo:
        """The field agent is at the door (code_sent → visited); with ``org``, an agent of that organisation."""
        core = self._core
        agent = _agent_label(agent, org)

        def body(tx: VerifyTx, h: Hasher) -> tuple[Link, str, VerifyError | None]:
            _check_id("agent", agent)
            link = self._load(tx, request_id, org)
            if link.state != State.CODE_SENT:
                raise InvalidState(
                    f"a visit needs a request in code_sent, not {link.state}", state=link.state
                )
            now = core.now()
            expired = self._expire_if_due(tx, link, now)
            if expired is not None:
                return expired, State.EXPIRED, CodeExpired("the one-time code expired; ask for a new request")
            link = replace(link, state=State.VISITED, visited_at=now, agent=agent, updated_at=now)
            tx.update_link(link)
            return link, State.VISITED, None

        return _info(core.step("visit", agent, request_id, body), core.config)

    def confirm(self, request_id: str, code: str, *, agent: str, org: str | None = None) -> RequestInfo:
        """The agent enters the citizen's code at the door: the link becomes verified (dated today).

        With ``org`` the agent belongs to that organisation, and only a request that no other organisation's
        agent has visited is found.
        """
        core, cfg = self._core, self._core.config
        given = _clean_code(code)
        agent = _agent_label(agent, org)

        def body(tx: VerifyTx, h: Hasher) -> tuple[Link, str, VerifyError | None]:
            _check_id("agent", agent)
            link = self._load(tx, request_id, org)
            if link.state not in (State.CODE_SENT, State.VISITED):
                raise InvalidState(
                    f"only a sent code can be confirmed; the request is {link.state}", state=link.state
                )
            now = core.now()
            expired = self._expire_if_due(tx, link, now)
            if expired is not None:
                return expired, State.EXPIRED, CodeExpired("the one-time code expired; ask for a new request")
            if not otp_equal(link.code_hash, h.otp(link.id, given)):
                tries = link.tries + 1
                if tries >= cfg.max_code_tries:
                    link = replace(
                        link,
                        state=State.REJECTED,
                        tries=tries,
                        code_hash=None,
                        closed_at=now,
                        reason="too_many_tries",
                        agent=agent,
                        updated_at=now,
                    )
                    tx.update_link(link)
                    return (
                        link,
                        "rejected:too_many_tries",
                        TooManyTries(
                            "the code was wrong too many times; the request is rejected", tries_left=0
                        ),
                    )
                link = replace(link, tries=tries, updated_at=now)
                tx.update_link(link)
                left = cfg.max_code_tries - tries
                return link, "wrong_code", WrongCode(f"the code is wrong; {left} tries left", tries_left=left)
            if core.postcode_status(link.postcode) != ACTIVE:
                link = replace(
                    link,
                    state=State.REJECTED,
                    code_hash=None,
                    closed_at=now,
                    reason="postcode_retired",
                    agent=agent,
                    updated_at=now,
                )
                tx.update_link(link)
                return (
                    link,
                    "rejected:postcode_retired",
                    PostcodeRetired("the postcode was retired meanwhile"),
                )
            refusal = _limit_refusal(tx, link, cfg)
            if refusal is not None:
                # Judged here, with the person proven at the door, and told only to the agent there.
                link = replace(
                    link,
                    state=State.REJECTED,
                    code_hash=None,
                    closed_at=now,
                    reason=refusal.code,
                    agent=agent,
                    updated_at=now,
                )
                tx.update_link(link)
                return link, f"rejected:{refusal.code}", refusal
            link = replace(
                link,
                state=State.VERIFIED,
                code_hash=None,  # no longer needed: keep nothing that could be guessed
                tries=link.tries + 1,
                visited_at=link.visited_at or now,
                agent=agent,
                verified_at=now,
                updated_at=now,
            )
            tx.update_link(link)
            return link, State.VERIFIED, None

        return _info(core.step("confirm", agent, request_id, body), cfg)

    def reject(self, request_id: str, reason: str, *, agent: str, org: str | None = None) -> RequestInfo:
        """The agent rejects the request at the door, with one of :data:`REJECT_REASONS` (``org``: see confirm)."""
        core = self._core
        agent = _agent_label(agent, org)

        def body(tx: VerifyTx, h: Hasher) -> tuple[Link, str, VerifyError | None]:
            _check_id("agent", agent)
            if reason not in REJECT_REASONS:
                raise InvalidArgument("unknown reason", field="reason", allowed=sorted(REJECT_REASONS))
            link = self._load(tx, request_id, org)
            if link.state not in OPEN_STATES:
                raise InvalidState(
                    f"only an open request can be rejected; it is {link.state}", state=link.state
                )
            now = core.now()
            link = replace(
                link,
                state=State.REJECTED,
                code_hash=None,
                closed_at=now,
                reason=reason,
                agent=agent,
                updated_at=now,
            )
            tx.update_link(link)
            return link, f"rejected:{reason}", None

        return _info(core.step("reject", agent, request_id, body), core.config)

    def end(self, request_id: str, reason: str, *, actor: str) -> RequestInfo:
        """A verified link stops holding (moved out, sold, ...): it no longer matches."""
        core = self._core

        def body(tx: VerifyTx, h: Hasher) -> tuple[Link, str, VerifyError | None]:
            _check_id("actor", actor)
            if reason not in END_REASONS:
                raise InvalidArgument("unknown reason", field="reason", allowed=sorted(END_REASONS))
            link = self._load(tx, request_id)
            if link.state != State.VERIFIED:
                raise InvalidState(f"only a verified link can end; it is {link.state}", state=link.state)
            now = core.now()
            link = replace(link, state=State.ENDED, closed_at=now, reason=reason, updated_at=now)
            tx.update_link(link)
            return link, f"ended:{reason}", None

        return _info(core.step("end", actor, request_id, body), core.config)

    def expire_due(self, *, actor: str = "system") -> int:
        """Close every open request whose code expired; returns how many."""
        core = self._core
        trace = _new_trace()

        def run(h: Hasher) -> int:
            with core.store.transaction() as tx:
                now = core.now()
                due = tx.due_links(now)
                for link in due:
                    tx.update_link(
                        replace(link, state=State.EXPIRED, code_hash=None, closed_at=now, updated_at=now)
                    )
                tx.append_audit(
                    [
                        core.entry(actor, "expire", PURPOSE_WORKFLOW, State.EXPIRED, trace, link.id)
                        for link in due
                    ]
                )
                return len(due)

        return core.keyed(run)

    def get(self, request_id: str, *, org: str | None = None) -> RequestInfo:
        """The current state of one request (with ``org``: only as an agent of that organisation may see it)."""
        link = self._core.store.get_link(request_id)
        if link is None or not _agent_may_act(link, org):
            raise RequestNotFound("no request with this id")
        return _info(link, self._core.config)

    @staticmethod
    def _load(tx: VerifyTx, request_id: str, org: str | None = None) -> Link:
        link = tx.get_link(request_id)
        # Another organisation's visit looks like no request at all: an agent learns nothing of it.
        if link is None or not _agent_may_act(link, org):
            raise RequestNotFound("no request with this id")
        return link

    @staticmethod
    def _expire_if_due(tx: VerifyTx, link: Link, now: datetime) -> Link | None:
        if link.code_expires_at is not None and now > link.code_expires_at:
            link = replace(link, state=State.EXPIRED, code_hash=None, closed_at=now, updated_at=now)
            tx.update_link(link)
            return link
        return None


# --- the match service (Shahkar pattern) --------------------------------------------------


class MatchService:
    """Answers "is postcode P the verified address of national code N?" with yes/no only."""

    def __init__(self, core: _Core, detector: SlidingWindowDetector) -> None:
        self._core = core
        self._detector = detector
        # Highest ids of the shared counts and alerts this process has taken in (see _judge_and_record).
        self._seen_cursor = 0
        self._alert_cursor = 0
        self._groups = 0
        # Concurrent single matches are evaluated and audited together by one of the callers.
        self._combiner: Combiner[tuple[str, str, MatchQuery], MatchResult | Exception] | None = None
        if core.config.group_commit:
            self._combiner = Combiner(self.match_group)
        # asyncio callers' matches are grouped by their event loop and run by one writer thread (made on first use).
        self._async_groups: GroupCommit[tuple[str, str, MatchQuery], MatchResult | Exception] | None = None
        self._async_lock = threading.Lock()

    def match(
        self, org: str, national_code: str, postcode: str, purpose: str, *, role: str | None = None
    ) -> MatchResult:
        """One audited match; raises a VerifyError (with ``trace_id``) when refused."""
        item = (org, purpose, _match_query(national_code, postcode, None, role))
        outcome = self._combiner.submit(item) if self._combiner is not None else self.match_group([item])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def amatch(
        self, org: str, national_code: str, postcode: str, purpose: str, *, role: str | None = None
    ) -> MatchResult:
        """:meth:`match` for asyncio callers; raises a VerifyError (with ``trace_id``) when refused.

        The matches awaited concurrently in one event loop are judged and audited as one group, in one
        commit, by a single writer thread: no thread per caller, so many callers cost little more than one.
        """
        groups = self._async_groups
        if groups is None:
            with self._async_lock:
                if self._async_groups is None:
                    self._async_groups = GroupCommit(self.match_group, "jinef-match")
                groups = self._async_groups
        outcome = await groups.submit((org, purpose, _match_query(national_code, postcode, None, role)))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def close(self) -> None:
        """Finish the groups of awaited matches already handed over (they are audited) and stop their thread."""
        with self._async_lock:
            if self._async_groups is not None:
                self._async_groups.close()
                self._async_groups = None

    def match_group(self, items: list[tuple[str, str, MatchQuery]]) -> list[MatchResult | Exception]:
        """Independent single matches (org, purpose, query) of many callers, audited in one commit.

        For callers that gather concurrent requests themselves (an event loop); each item gets its
        answer or its refusal (a VerifyError) as if asked alone. Raises only when nothing could be
        audited, and then no item is answered.
        """
        return [outcome for outcome, _, _ in self._judge_and_record(items)]

    def match_batch(self, org: str, queries: Sequence[MatchQuery], purpose: str) -> list[BatchItem]:
        """Many matches in one call; each row is answered, refused or rejected on its own, all audited."""
        evaluated = self._judge_and_record([(org, purpose, q) for q in queries])
        items: list[BatchItem] = []
        for q, (outcome, _, _) in zip(queries, evaluated, strict=True):
            if isinstance(outcome, MatchResult):
                items.append(BatchItem(q.row_id, outcome, None))
            elif isinstance(outcome, VerifyError):
                items.append(BatchItem(q.row_id, None, outcome))
            else:
                raise outcome  # an internal failure (e.g. the registry); it is audited as such
        return items

    def _evaluate(
        self, items: Sequence[tuple[str, str, MatchQuery]]
    ) -> list[tuple[MatchResult | Exception, AuditEntry, list[Alert]]]:
        """Answer each (org, purpose, query), with its audit entry and any alerts it raised.

        Three phases, so that a batch costs one database statement: check and count each
        query, look every surviving pair up at once, then build the answers.
        """
        core = self._core
        n = len(items)
        traces = _new_traces(n)
        now = core.now()
        outcomes: list[MatchResult | Exception | None] = [None] * n
        alerts: list[list[Alert]] = [[] for _ in range(n)]
        pending: list[tuple[int, str, str, bytes]] = []  # (index, canonical national code, postcode, its hash)
        h = core.hasher
        for i, (org, purpose, q) in enumerate(items):
            try:
                _check_id("org", org)
                if purpose not in core.config.purposes:
                    raise InvalidArgument(
                        "unknown purpose code", field="purpose", allowed=sorted(core.config.purposes)
                    )
                nc = _parse_nc(q.national_code)
                postcode_c = _parse_postcode(q.postcode)
                if q.role is not None:
                    _check_role(q.role)
                nc_hash = h.national_code(nc)
                self._detector.check(org, nc_hash, postcode_c, now)
                pending.append((i, nc, postcode_c, nc_hash))
            except VerifyError as exc:
                if isinstance(exc, MatchRefused):
                    alerts[i] = list(exc.alerts)
                outcomes[i] = exc
        if pending:
            try:
                found = core.store.find_verified([(nc_hash, p) for _, _, p, nc_hash in pending], h.version)
            except StaleKeyVersion:  # re-keyed by another process since this one loaded its keys
                core.reload_keys()
                h = core.hasher
                found = core.store.find_verified([(h.national_code(nc), p) for _, nc, p, _ in pending], h.version)
            for (i, _, postcode_c, _), links in zip(pending, found, strict=True):
                role = items[i][2].role
                if role is not None:
                    links = [link for link in links if link.role == role]
                try:
                    result = _match_result(False, None, None, traces[i])
                    if links and core.postcode_status(postcode_c) == ACTIVE:
                        # Several roles on one postcode: answer with the longest-standing one.
                        best = min(links, key=lambda link: (link.verified_at, ROLES.index(link.role)))
                        result = _match_result(True, best.role, best.verified_at.date(), traces[i])
                    outcomes[i] = result
                except Exception as exc:  # one caller's failure must not fail the others grouped with it
                    outcomes[i] = exc
        out: list[tuple[MatchResult | Exception, AuditEntry, list[Alert]]] = []
        for i, (org, purpose, _) in enumerate(items):
            outcome = outcomes[i]
            assert outcome is not None
            if isinstance(outcome, MatchResult):
                label = "matched" if outcome.matched else "not_matched"
            elif isinstance(outcome, VerifyError):
                outcome.details["trace_id"] = traces[i]
                label = "refused:" + outcome.code
            else:
                label = "error:internal"
            shown_purpose = purpose if purpose in core.config.purposes else "invalid"
            out.append(
                (
                    outcome,
                    _audit_entry(now, _safe_label(org), "match", shown_purpose, label, traces[i], ""),
                    alerts[i],
                )
            )
        return out

    def count_request(self, org: str, nc_hash: bytes, postcode: str) -> None:
        """Count a verification request as the detector counts a match (shared by every process); raises the
        refusal, after storing its alerts, when it trips a limit."""
        core, detector = self._core, self._detector
        refused: MatchRefused | None = None
        try:
            with core.store.transaction() as tx:
                now = core.now()
                self._take_in(tx, now)
                try:
                    detector.check(org, nc_hash, postcode, now)
                except MatchRefused as exc:
                    refused = exc
                    for alert in exc.alerts:
                        self._alert_cursor = max(self._alert_cursor, tx.add_alert(alert))
                self._seen_cursor = tx.add_seen(detector.take_recorded())
        except Exception as exc:
            raise AuditUnavailable("the request could not be counted; it is not opened") from exc
        if refused is not None:
            raise refused

    def catch_up(self) -> None:
        """Take in the counts and alerts stored so far (at start: the first match then waits for nothing)."""
        with self._core.store.transaction() as tx:
            self._take_in(tx, self._core.now())

    def _take_in(self, tx: VerifyTx, now: datetime) -> datetime:
        """Absorb what other processes (or earlier runs) counted and alerted since the last look; the window start."""
        detector = self._detector
        since = now - timedelta(seconds=self._core.config.abuse.window_seconds)
        seen, self._seen_cursor = tx.seen_after(self._seen_cursor, since)
        detector.absorb(seen)
        alerts, self._alert_cursor = tx.alerts_after(self._alert_cursor)
        detector.restore(alerts, now)
        detector.take_recorded()  # counted outside a transaction of ours (none expected): not stored twice
        return since

    def _judge_and_record(
        self, items: Sequence[tuple[str, str, MatchQuery]]
    ) -> list[tuple[MatchResult | Exception, AuditEntry, list[Alert]]]:
        """Evaluate ``items`` and store their counts, alerts and audit records in one transaction.

        The transaction holds the hub's write lock (shared by every process), and the detector first
        takes in what other processes counted since it last looked: processes count as one.
        """
        core, detector = self._core, self._detector
        try:
            with core.store.transaction() as tx:
                now = core.now()
                since = self._take_in(tx, now)
                evaluated = self._evaluate(items)
                self._seen_cursor = tx.add_seen(detector.take_recorded())
                for _, _, raised in evaluated:
                    for alert in raised:
                        # Ours, and past every alert taken in (the transaction is exclusive): not taken in again.
                        self._alert_cursor = max(self._alert_cursor, tx.add_alert(alert))
                tx.append_audit([entry for _, entry, _ in evaluated])
                self._groups += 1
                if self._groups % 1000 == 0:
                    tx.forget_seen(since)
        except Exception as exc:
            raise AuditUnavailable("the audit log could not be written; no answer is given") from exc
        return evaluated


# --- the citizen's own view ("what is registered in my name") ------------------------------


class CitizenService:
    """A citizen lists their own verified addresses after proving they hold the mobile."""

    def __init__(self, core: _Core) -> None:
        self._core = core

    def challenge(self, national_code: str, mobile: str) -> ChallengeInfo:
        """Text a one-time code to ``mobile``; present it with the returned id to :meth:`addresses`."""
        core, cfg = self._core, self._core.config
        challenge_id = _new_id("ch_")
        try:
            nc = _parse_nc(national_code)
            mobile_c = _parse_mobile(mobile)
            core.require_gateway()
        except VerifyError as exc:
            core.refused(CITIZEN_ACTOR, "citizen_challenge", PURPOSE_CITIZEN, exc)
            raise
        code = core.new_code()

        def body(tx: VerifyTx, h: Hasher) -> tuple[Challenge, str, VerifyError | None]:
            mob_h = h.mobile(mobile_c)
            now = core.now()
            if tx.count_challenges(mob_h, now - timedelta(hours=1)) >= cfg.max_challenges_per_mobile_per_hour:
                raise ChallengeLimitReached(
                    "too many codes were asked for this mobile in the last hour", retry_after=3600
                )
            ch = Challenge(
                id=challenge_id,
                nc_hash=h.national_code(nc),
                mobile_hash=mob_h,
                code_hash=h.otp(challenge_id, code),
                created_at=now,
                expires_at=now + timedelta(seconds=cfg.challenge_ttl_seconds),
            )
            tx.insert_challenge(ch)
            return ch, "code_created", None

        ch = core.step("citizen_challenge", CITIZEN_ACTOR, challenge_id, body, PURPOSE_CITIZEN)
        text = f"Jinef: کد ورود شما برای دیدن نشانی‌های ثبت‌شده به نامتان {code} است."
        core.send(Sms(mobile_c, text, "citizen", challenge_id), CITIZEN_ACTOR, PURPOSE_CITIZEN)
        return ChallengeInfo(ch.id, ch.expires_at)

    def addresses(self, challenge_id: str, code: str) -> list[OwnAddress]:
        """The verified addresses registered with this national code *and* this mobile."""
        core, cfg = self._core, self._core.config
        given = _clean_code(code)

        def body(tx: VerifyTx, h: Hasher) -> tuple[list[OwnAddress], str, VerifyError | None]:
            ch = tx.get_challenge(challenge_id)
            if ch is None or ch.state != ChallengeState.OPEN:
                raise ChallengeNotFound("no open challenge with this id")
            now = core.now()
            if now > ch.expires_at:
                tx.update_challenge(replace(ch, state=ChallengeState.FAILED))
                return [], "expired", CodeExpired("the code expired; ask for a new one")
            if not otp_equal(ch.code_hash, h.otp(ch.id, given)):
                tries = ch.tries + 1
                if tries >= cfg.max_challenge_tries:
                    tx.update_challenge(replace(ch, tries=tries, state=ChallengeState.FAILED))
                    return (
                        [],
                        "too_many_tries",
                        TooManyTries("the code was wrong too many times", tries_left=0),
                    )
                tx.update_challenge(replace(ch, tries=tries))
                left = cfg.max_challenge_tries - tries
                return [], "wrong_code", WrongCode(f"the code is wrong; {left} tries left", tries_left=left)
            tx.update_challenge(replace(ch, tries=ch.tries + 1, state=ChallengeState.USED))
            links = tx.verified_links_of(ch.nc_hash, ch.mobile_hash)
            found = [
                OwnAddress(link.postcode, link.role, link.verified_at.date())
                for link in links
                if link.verified_at
            ]
            return found, f"listed:{len(found)}", None

        return core.step("citizen_list", CITIZEN_ACTOR, challenge_id, body, PURPOSE_CITIZEN)


def open_outbox(messages: list[OutboxMessage], ring: KeyRing) -> list[OutboxMessage]:
    """Outbox messages with their sealed text opened by ``ring``."""
    return [replace(m, body=unseal(ring, m.body)) if is_sealed(m.body) else m for m in messages]


# --- key rotation --------------------------------------------------------------------------


def rotate_key(
    store: VerifyStore, ring: KeyRing, *, now: datetime | None = None
) -> tuple[RotationResult, KeyRing]:
    """Re-key every stored hash under a new key version, in one transaction.

    If the ring has no key newer than the database's, one is generated and written to the
    key file first (before any row depends on it); a ring from the environment must be given
    its new key by the operator. Returns what was done and the ring now in use.
    """
    version, checks = store.key_state()
    if version == 0:
        raise KeyRingError(message("key_ring.nothing_to_rotate"))
    check_ring(ring, version, checks)
    if ring.latest <= version:
        if ring.path is None:
            raise KeyRingError(message("key_ring.rotate_environment", variable="JINEF_VERIFY_KEY"))
        ring = ring.with_new_key()
        ring.save()
    target = ring.latest
    new_keys = [ring.key(v) for v in range(version + 1, target + 1)]

    def step(stored: bytes) -> bytes:
        return reduce(lambda h, k: wrap(k, h), new_keys, stored)

    new_checks = {v: ring.check_value(v) for v in range(1, target + 1)}
    when = (now or datetime.now(UTC)).astimezone(UTC)
    audit = AuditEntry(
        when, "operator", "key_rotation", "key_management", f"v{version}->v{target}", _new_trace()
    )
    count = store.rewrap(version, target, step, new_checks, [audit])
    return RotationResult(version, target, count), ring


# --- the hub -------------------------------------------------------------------------------


class VerifyHub:
    """Everything the HTTP layer needs, wired to one database and one key ring."""

    def __init__(
        self,
        store: VerifyStore,
        postcode_status: PostcodeStatus,
        *,
        ring_loader: Callable[[], KeyRing],
        config: VerifyConfig | None = None,
        gateway: SmsGateway | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or VerifyConfig()
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ring_loader = ring_loader
        self._core = _Core(store, postcode_status, ring_loader, self.config, gateway, self._clock)
        if gateway is None and self.config.dev_sms_outbox:  # development only, and only when asked for
            self._core.gateway = OutboxGateway(store, self._core.seal, self._clock)
        # Messages an older version wrote in clear hold live one-time codes: they go.
        store.clear_unsealed_outbox()
        # Blocks and counts of earlier runs and of other processes are taken in before the first match is judged.
        self.detector = SlidingWindowDetector(self.config.abuse)
        self.matching = MatchService(self._core, self.detector)
        self.workflow = Workflow(self._core, self.matching)
        self.matching.catch_up()
        self.citizen = CitizenService(self._core)

    @classmethod
    def open(
        cls,
        db_path: str | os.PathLike[str],
        postcode_status: PostcodeStatus,
        *,
        key_path: str | Path | None = None,
        config: VerifyConfig | None = None,
        gateway: SmsGateway | None = None,
        clock: Callable[[], datetime] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> VerifyHub:
        """Open the hub's tables at ``db_path``: a SQLite file or a ``postgresql://…?schema=…`` URL (created if
        needed)."""
        cfg = config or VerifyConfig()
        store = open_verify_store(db_path, durability=cfg.durability)
        try:
            return cls(
                store,
                postcode_status,
                ring_loader=lambda: load_ring(key_path, db_path=db_path, environ=environ),
                config=cfg,
                gateway=gateway,
                clock=clock,
            )
        except BaseException:
            store.close()
            raise

    def rotate_key(self) -> RotationResult:
        """Re-key every stored hash (see :func:`rotate_key`); this hub keeps working afterwards."""
        result, _ = rotate_key(self.store, self._ring_loader(), now=self._core.now())
        self._core.reload_keys()
        return result

    def verify_audit(self, expect_head: str | None = None) -> AuditReport:
        """Check the audit chain and name the first bad record."""
        return verify_store(self.store, expect_head)

    def outbox(self, limit: int = 50, ref: str | None = None) -> list[OutboxMessage]:
        """Messages written by the development SMS gateway, newest first, opened with the key ring."""
        return open_outbox(self.store.outbox(limit, ref), self._core.ring)

    def close(self) -> None:
        """Finish awaited matches, flush the audit writer and close the database."""
        self.matching.close()
        self._core.audit.close()
        self.store.close()

    def __enter__(self) -> VerifyHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
