"""Iranian mobile numbers: any written form to the canonical ``09XXXXXXXXX`` (11 digits).

People write +98 912 …, 0098912…, 98912…, 0912… or 912…, in Persian, Arabic-Indic or
Latin digits, with spaces, dashes or parentheses. One canonical form matters here because
the number is only ever stored as a keyed hash: two spellings must hash the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jinef.common.messages import message
from jinef.model.digits import to_latin_digits

RULE_EMPTY = "empty"
RULE_NON_DIGIT = "non_digit"
RULE_LENGTH = "wrong_length"
RULE_NOT_MOBILE = "not_a_mobile_prefix"

# What each rule means, from the message catalogue (mobile.rule.<rule>), in English.
RULE_MESSAGES: dict[str, str] = {rule: message(f"mobile.rule.{rule}").text("en")
                                  for rule in (RULE_EMPTY, RULE_NON_DIGIT, RULE_LENGTH, RULE_NOT_MOBILE)}

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_()\u200c\u200f\u200e.]+")


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of checking one mobile number; ``repr`` hides the number."""

    input: str = field(repr=False)
    mobile: str | None = field(repr=False)
    reasons: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """True when no rule failed."""
        return not self.reasons

    def messages(self) -> list[str]:
        """Human-readable text for each failed rule."""
        return [RULE_MESSAGES[r] for r in self.reasons]


class MobileError(ValueError):
    """Raised by :func:`parse` for a number that is not an Iranian mobile."""

    def __init__(self, validation: Validation) -> None:
        self.validation = validation
        super().__init__("invalid mobile number: " + "; ".join(validation.messages()))


def validate(text: str) -> Validation:
    """Check one mobile number and report every rule it breaks."""
    raw = _SEPARATORS.sub("", to_latin_digits(text.strip()))
    if raw.startswith("+"):
        raw = raw[1:]
    if not raw:
        return Validation(text, None, (RULE_EMPTY,))
    if not (raw.isascii() and raw.isdigit()):
        return Validation(text, None, (RULE_NON_DIGIT,))
    # Country-code forms: 0098 9…, 98 9… → 09…; bare 9… (10 digits) → 09….
    if raw.startswith("0098"):
        raw = "0" + raw[4:]
    elif raw.startswith("98") and len(raw) == 12:
        raw = "0" + raw[2:]
    elif raw.startswith("9") and len(raw) == 10:
        raw = "0" + raw
    reasons: list[str] = []
    if len(raw) != 11:
        reasons.append(RULE_LENGTH)
    if not raw.startswith("09"):
        reasons.append(RULE_NOT_MOBILE)
    return Validation(text, raw if not reasons else None, tuple(reasons))


def parse(text: str) -> str:
    """Return the canonical ``09XXXXXXXXX`` or raise :class:`MobileError`."""
    v = validate(text)
    if v.mobile is None:
        raise MobileError(v)
    return v.mobile


def mask(mobile: str) -> str:
    """A display form that keeps too few digits to identify anyone: ``09*******67``."""
    return mobile[:2] + "*" * (len(mobile) - 4) + mobile[-2:]
