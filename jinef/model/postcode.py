"""The 10-digit national postcode: parse any written form, validate with named rules, decompose.

Rules (domain.md §2): ten digits; the first five (the route) never contain 0 or 2, which
look like 5 and 3 in Persian script; a code of one digit repeated ten times is not issued.
Every failing rule is reported, so a caller can tell the user exactly what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from jinef.common.messages import Language, Message, message
from jinef.model.digits import to_latin_digits

# Rule names are part of the public API (CLI --json, HTTP 422 bodies): keep them stable.
RULE_EMPTY = "empty"
RULE_NON_DIGIT = "non_digit"
RULE_LENGTH = "wrong_length"
RULE_ROUTE_ZERO_OR_TWO = "zero_or_two_in_first_five"
RULE_REPEATED = "one_digit_repeated"

RULES = (RULE_EMPTY, RULE_NON_DIGIT, RULE_LENGTH, RULE_ROUTE_ZERO_OR_TWO, RULE_REPEATED)


def rule_message(rule: str) -> Message:
    """What a failed rule means, from the message catalogue (``postcode.rule.<rule>``)."""
    return message(f"postcode.rule.{rule}")


# English text of each rule, for callers that want plain strings.
RULE_MESSAGES: dict[str, str] = {rule: rule_message(rule).text("en") for rule in RULES}

FORBIDDEN_ROUTE_DIGITS = frozenset("02")
ROUTE_DIGITS = "1345679" + "8"  # the eight digits a route may use
# Separators people write inside a postcode: dash variants, spaces, ZWNJ.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_\u200c\u200f\u200e]+")


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of checking one input against the postcode rules."""

    input: str
    postcode: str | None
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        """True when no rule failed."""
        return not self.reasons

    def messages(self, language: Language = "en") -> list[str]:
        """Human-readable text for each failed rule, in ``language``."""
        return [rule_message(r).text(language) for r in self.reasons]

    def error(self) -> Message:
        """The whole refusal as one message: the input and every rule it breaks."""
        return message("postcode.invalid", input=self.input, reasons=[rule_message(r) for r in self.reasons])

    def as_dict(self) -> dict[str, object]:
        """The JSON form used by the CLI and the HTTP API."""
        return {
            "input": self.input,
            "postcode": self.postcode,
            "valid": self.valid,
            "reasons": list(self.reasons),
        }


class PostcodeError(ValueError):
    """Raised by :func:`parse` for an input that breaks one or more rules."""

    def __init__(self, validation: Validation) -> None:
        self.validation = validation
        super().__init__(validation.error().text("en"))


def clean(text: str) -> str:
    """Digits made ASCII, separators (dash, spaces, ZWNJ) removed."""
    return _SEPARATORS.sub("", to_latin_digits(text.strip()))


# Already canonical and valid, except for the one-repeated-digit rule (checked apart): most inputs
# from systems are, and a batch of them need not go through the general cleaning below.
_CANONICAL = re.compile(r"[13-9]{5}[0-9]{5}", re.ASCII)


def quick_canonical(text: str) -> str | None:
    """``text`` when it is already a valid postcode in canonical form (a cheap check), else None.

    None does not mean invalid: other written forms need :func:`validate`.
    """
    return text if _CANONICAL.fullmatch(text) and text.count(text[0]) != 10 else None


def validate(text: str) -> Validation:
    """Check an input against every rule and report each one that fails."""
    if quick_canonical(text) is not None:
        return Validation(text, text, ())
    raw = clean(text)
    reasons: list[str] = []
    if not raw:
        return Validation(text, None, (RULE_EMPTY,))
    if not raw.isascii() or not raw.isdigit():
        reasons.append(RULE_NON_DIGIT)
    digits = "".join(ch for ch in raw if ch.isascii() and ch.isdigit())
    if len(raw) != 10:
        reasons.append(RULE_LENGTH)
    if FORBIDDEN_ROUTE_DIGITS.intersection(digits[:5]):
        reasons.append(RULE_ROUTE_ZERO_OR_TWO)
    if len(digits) == 10 and len(set(digits)) == 1:
        reasons.append(RULE_REPEATED)
    canonical = raw if not reasons else None
    return Validation(text, canonical, tuple(reasons))


def parse(text: str) -> str:
    """Return the canonical 10 ASCII digits or raise :class:`PostcodeError`."""
    v = validate(text)
    if v.postcode is None:
        raise PostcodeError(v)
    return v.postcode


def is_valid(text: str) -> bool:
    """True when ``text`` is a valid postcode in any written form."""
    return validate(text).valid


def format_postcode(postcode: str) -> str:
    """The printed form ``#####-#####``."""
    code = parse(postcode)
    return f"{code[:5]}-{code[5:]}"


@dataclass(frozen=True, slots=True)
class Parts:
    """A postcode split into its route and delivery-point parts."""

    route: str
    kind: Literal["urban", "rural"]
    block: str | None  # urban: block inside the route (1 digit)
    village: str | None  # rural: village inside the route (2 digits)
    serial: str  # urban 4 digits, rural 3 digits


def decompose(postcode: str, kind: Literal["urban", "rural"]) -> Parts:
    """Split into route + block + serial (urban) or route + village + serial (rural).

    The digits alone do not say whether a route is urban or rural; the registry knows.
    """
    code = parse(postcode)
    route, point = code[:5], code[5:]
    if kind == "urban":
        return Parts(route, "urban", point[0], None, point[1:])
    return Parts(route, "rural", None, point[:2], point[2:])


def to_int(postcode: str) -> int:
    """The integer key used by stores and in-memory indexes (lossless: a code never starts with 0)."""
    return int(parse(postcode))


def from_int(value: int) -> str:
    """Inverse of :func:`to_int`."""
    return f"{value:010d}"
