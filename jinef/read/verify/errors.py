"""Typed errors of the verification hub, each with a stable machine-readable code.

The HTTP layer maps :attr:`VerifyError.http_status` to the response status and
:meth:`VerifyError.as_dict` to the body. What a user reads comes from the message catalogue
(``verify.<code>``, filled from the details: :meth:`VerifyError.text`); the message an error is raised
with stays for logs. Messages never contain a national code or a mobile.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jinef.common.messages import DEFAULT_LANGUAGE, Language, Message, catalogue, message


class VerifyError(Exception):
    """Base of every error the hub raises on purpose."""

    code: ClassVar[str] = "verify_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def message_id(self) -> str:
        """The catalogue id of what the user reads; a variant per detail where one code has several texts."""
        return f"verify.{self.code}"

    def text(self) -> Message:
        """What went wrong, from the catalogue, its fields filled from the details (a generic refusal if the
        catalogue's text needs a detail this error lacks)."""
        mid = self.message_id()
        if mid not in catalogue():
            mid = "verify.verify_error"
        wanted = catalogue().fields(mid)
        if not wanted <= self.details.keys():
            return message("verify.verify_error")
        return message(mid, **{name: self.shown(name, self.details[name]) for name in wanted})

    def shown(self, name: str, value: Any) -> Any:
        """A detail as the message shows it (rule names become the rules' texts, states their names)."""
        return value

    def as_dict(self, language: Language = DEFAULT_LANGUAGE) -> dict[str, Any]:
        """The JSON error body: code, message in ``language`` and any details (reasons, retry_after, ...)."""
        return {"code": self.code, "message": self.text().text(language), **self.details}


class _RulesBroken(VerifyError):
    """An input that breaks named rules: ``details['reasons']`` shown as each rule's text."""

    rules: ClassVar[str] = ""  # the catalogue's topic of the rules: national_code, mobile, postcode

    def shown(self, name: str, value: Any) -> Any:
        """The reasons as the rules' texts."""
        if name == "reasons":
            return [message(f"{self.rules}.rule.{r}") for r in value]
        return value


# --- bad input (422) ------------------------------------------------------------------------


class InvalidNationalCode(_RulesBroken):
    """The national code breaks one or more rules; ``details['reasons']`` names them."""

    code = "invalid_national_code"
    rules = "national_code"
    http_status = 422


class InvalidMobile(_RulesBroken):
    """The mobile number is not an Iranian mobile."""

    code = "invalid_mobile"
    rules = "mobile"
    http_status = 422


class InvalidPostcode(_RulesBroken):
    """The postcode breaks one or more rules; ``details['reasons']`` names them."""

    code = "invalid_postcode"
    rules = "postcode"
    http_status = 422


class InvalidArgument(VerifyError):
    """A role, purpose, organisation id or reason is not one the hub accepts."""

    code = "invalid_argument"
    http_status = 422

    def message_id(self) -> str:
        """One of the allowed values, or an identifier."""
        return "verify.invalid_argument." + ("choice" if "allowed" in self.details else "identifier")


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

    def shown(self, name: str, value: Any) -> Any:
        """The state by its name in the catalogue."""
        mid = f"verify.state.{value}"
        return message(mid) if name == "state" and mid in catalogue() else value


class AlreadyLinked(VerifyError):
    """The same person already has this postcode in this role (pending or verified)."""

    code = "already_linked"
    http_status = 409


class PersonLimitReached(VerifyError):
    """The person already has the maximum number of active addresses (or residences)."""

    code = "person_limit_reached"
    http_status = 409

    def message_id(self) -> str:
        """Addresses or residences."""
        return f"verify.person_limit_reached.{self.details.get('scope', 'addresses')}"


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

    def message_id(self) -> str:
        """Which counter tripped."""
        return f"verify.enumeration_suspected.{self.details.get('reason', '')}"


class OrganisationBlocked(MatchRefused):
    """The organisation tripped the enumeration detector repeatedly and is blocked for a while."""

    code = "organisation_blocked"


class AuditUnavailable(VerifyError):
    """The audit record could not be written, so no answer is given."""

    code = "audit_unavailable"
    http_status = 503


# --- keys ----------------------------------------------------------------------------------


class KeyRingError(VerifyError):
    """The hashing key ring is missing, malformed, or not the one the database was keyed with.

    A client is told only that the ring does not fit (:meth:`text`); ``problem`` says exactly what is wrong, for
    the operator at the command line (and, in English, the log).
    """

    code = "key_ring_error"
    http_status = 500

    def __init__(self, problem: Message, **details: Any) -> None:
        super().__init__(problem.text(DEFAULT_LANGUAGE), **details)
        self.problem = problem
