"""Typed errors of the verification hub, each with a stable machine-readable code.

The HTTP layer maps :attr:`VerifyError.http_status` to the response status and
:meth:`VerifyError.as_dict` to the body. Messages never contain a national code or a mobile.
"""

from __future__ import annotations

from typing import Any, ClassVar


class VerifyError(Exception):
    """Base of every error the hub raises on purpose."""

    code: ClassVar[str] = "verify_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def as_dict(self) -> dict[str, Any]:
        """The JSON error body: code, message and any details (reasons, retry_after, ...)."""
        return {"code": self.code, "message": self.message, **self.details}


# --- bad input (422) ------------------------------------------------------------------------


class InvalidNationalCode(VerifyError):
    """The national code breaks one or more rules; ``details['reasons']`` names them."""

    code = "invalid_national_code"
    http_status = 422


class InvalidMobile(VerifyError):
    """The mobile number is not an Iranian mobile."""

    code = "invalid_mobile"
    http_status = 422


class InvalidPostcode(VerifyError):
    """The postcode breaks one or more rules; ``details['reasons']`` names them."""

    code = "invalid_postcode"
    http_status = 422


class InvalidArgument(VerifyError):
    """A role, purpose, organisation id or reason is not one the hub accepts."""

    code = "invalid_argument"
    http_status = 422


# --- registry state ------------------------------------------------------------------------


class PostcodeNotFound(VerifyError):
    """The postcode is well formed but the registry does not know it."""

    code = "postcode_not_found"
    http_status = 404


class PostcodeRetired(VerifyError):
    """The postcode was retired: no new address can be verified on it."""

    code = "postcode_retired"
    http_status = 409


# --- workflow ------------------------------------------------------------------------------


class RequestNotFound(VerifyError):
    """No verification request has this id."""

    code = "request_not_found"
    http_status = 404


class InvalidState(VerifyError):
    """The request is not in a state that allows this step; ``details['state']`` says which."""

    code = "invalid_state"
    http_status = 409


class AlreadyLinked(VerifyError):
    """The same person already has this postcode in this role (pending or verified)."""

    code = "already_linked"
    http_status = 409


class PersonLimitReached(VerifyError):
    """The person already has the maximum number of active addresses (or residences)."""

    code = "person_limit_reached"
    http_status = 409


class PostcodeLimitReached(VerifyError):
    """The postcode already has the maximum number of active people linked to it."""

    code = "postcode_limit_reached"
    http_status = 409


class WrongCode(VerifyError):
    """The one-time code is wrong; ``details['tries_left']`` says how many tries remain."""

    code = "wrong_code"
    http_status = 422


class TooManyTries(VerifyError):
    """The one-time code was wrong too many times: the request or challenge is closed."""

    code = "too_many_tries"
    http_status = 429


class CodeExpired(VerifyError):
    """The one-time code is past its time to live."""

    code = "code_expired"
    http_status = 410


class ResendLimitReached(VerifyError):
    """The code was already sent the maximum number of times for this request."""

    code = "resend_limit_reached"
    http_status = 429


class SmsFailed(VerifyError):
    """The SMS gateway did not accept the message; the step can be retried."""

    code = "sms_failed"
    http_status = 503


class SmsUnavailable(VerifyError):
    """No SMS gateway is configured: nothing that needs a one-time code can be started."""

    code = "sms_unavailable"
    http_status = 503


class ChallengeNotFound(VerifyError):
    """No open citizen challenge has this id (unknown, used, or closed)."""

    code = "challenge_not_found"
    http_status = 404


class RequestLimitReached(VerifyError):
    """Too many verification requests were opened with this mobile recently."""

    code = "request_limit_reached"
    http_status = 429


class ChallengeLimitReached(VerifyError):
    """Too many one-time codes were asked for this mobile recently."""

    code = "challenge_limit_reached"
    http_status = 429


# --- match service -------------------------------------------------------------------------


class MatchRefused(VerifyError):
    """Base of refusals by the abuse detector; ``details['retry_after']`` is in seconds."""

    code = "match_refused"
    http_status = 429

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        # Alerts this refusal raised (stored by the service; not part of the HTTP body).
        self.alerts: list[Any] = []

    @property
    def retry_after(self) -> int:
        """Seconds until the organisation may ask again."""
        return int(self.details.get("retry_after", 0))


class EnumerationSuspected(MatchRefused):
    """The organisation asked too many codes for one postcode (or postcodes for one code)."""

    code = "enumeration_suspected"


class OrganisationBlocked(MatchRefused):
    """The organisation tripped the enumeration detector repeatedly and is blocked for a while."""

    code = "organisation_blocked"


class AuditUnavailable(VerifyError):
    """The audit record could not be written, so no answer is given."""

    code = "audit_unavailable"
    http_status = 503


# --- keys ----------------------------------------------------------------------------------


class KeyRingError(VerifyError):
    """The hashing key ring is missing, malformed, or not the one the database was keyed with."""

    code = "key_ring_error"
    http_status = 500
