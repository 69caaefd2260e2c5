"""The Iranian national code (کد ملی): parse any written form, validate with named rules.

Rules (domain.md §7): ten digits; the last is a check digit over the first nine,
s = Σ d_i × (11 − i) for i = 1..9, r = s mod 11, check = r when r < 2 else 11 − r;
ten identical digits are never issued. Every failing rule is reported, as the postcode
validator does, so a caller can tell the user exactly what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jinef.common.messages import message
from jinef.model.digits import to_latin_digits

# Rule names are part of the public API (CLI --json, HTTP 422 bodies): keep them stable.
RULE_EMPTY = "empty"
RULE_NON_DIGIT = "non_digit"
RULE_LENGTH = "wrong_length"
RULE_REPEATED = "one_digit_repeated"
RULE_CHECK_DIGIT = "bad_check_digit"

# What each rule means, from the message catalogue (national_code.rule.<rule>), in English.
RULES = (RULE_EMPTY, RULE_NON_DIGIT, RULE_LENGTH, RULE_REPEATED, RULE_CHECK_DIGIT)
RULE_MESSAGES: dict[str, str] = {rule: message(f"national_code.rule.{rule}").text("en") for rule in RULES}

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# Separators people type inside a code: dash variants, spaces, ZWNJ and direction marks.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_\u200c\u200f\u200e]+")


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of checking one input against the national code rules.

    ``repr`` never shows the input: a national code must not leak into logs by accident.
    """

    input: str = field(repr=False)
    national_code: str | None = field(repr=False)
    reasons: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """True when no rule failed."""
        return not self.reasons

    def messages(self) -> list[str]:
        """Human-readable text for each failed rule."""
        return [RULE_MESSAGES[r] for r in self.reasons]

    def as_dict(self) -> dict[str, object]:
        """The JSON form (rules only: the code itself is not echoed back)."""
        return {"valid": self.valid, "reasons": list(self.reasons)}


class NationalCodeError(ValueError):
    """Raised by :func:`parse` for an input that breaks one or more rules."""

    def __init__(self, validation: Validation) -> None:
        self.validation = validation
        # The message names the rules, never the input (it may be a real person's code).
        super().__init__("invalid national code: " + "; ".join(validation.messages()))


def clean(text: str) -> str:
    """Digits made ASCII, separators (dash, spaces, ZWNJ) removed."""
    return _SEPARATORS.sub("", to_latin_digits(text.strip()))


def check_digit(first_nine: str) -> int:
    """The check digit for nine ASCII digits (domain.md §7)."""
    if len(first_nine) != 9 or not (first_nine.isascii() and first_nine.isdigit()):
        raise ValueError("check_digit needs exactly nine ASCII digits")
    s = 0
    for weight, ch in zip(_WEIGHTS, first_nine, strict=True):  # weight 11 − i for i = 1..9
        s += weight * (ord(ch) - 48)
    r = s % 11
    return r if r < 2 else 11 - r


def quick_canonical(text: str) -> str | None:
    """``text`` when it is already a valid national code in canonical form (a cheap check), else None.

    None does not mean invalid: other written forms need :func:`validate`. Canonical valid input is the
    common case on the match path, and it needs no :class:`Validation`.
    """
    if (len(text) == 10 and text.isascii() and text.isdigit() and text.count(text[0]) != 10
            and check_digit(text[:9]) == ord(text[9]) - 48):
        return text
    return None


def validate(text: str) -> Validation:
    """Check an input against every rule and report each one that fails."""
    if quick_canonical(text) is not None:
        return Validation(text, text, ())
    raw = text if len(text) == 10 and text.isascii() and text.isdigit() else clean(text)
    if not raw:
        return Validation(text, None, (RULE_EMPTY,))
    reasons: list[str] = []
    digits = raw
    if not (raw.isascii() and raw.isdigit()):
        reasons.append(RULE_NON_DIGIT)
        digits = "".join(ch for ch in raw if ch.isascii() and ch.isdigit())
    if len(raw) != 10:
        reasons.append(RULE_LENGTH)
    if len(digits) == 10:
        if len(set(digits)) == 1:
            reasons.append(RULE_REPEATED)
        if check_digit(digits[:9]) != int(digits[9]):
            reasons.append(RULE_CHECK_DIGIT)
    return Validation(text, raw if not reasons else None, tuple(reasons))


def parse(text: str) -> str:
    """Return the canonical 10 ASCII digits or raise :class:`NationalCodeError`."""
    quick = quick_canonical(text)
    if quick is not None:
        return quick
    v = validate(text)
    if v.national_code is None:
        raise NationalCodeError(v)
    return v.national_code


def is_valid(text: str) -> bool:
    """True when ``text`` is a valid national code in any written form."""
    return validate(text).valid


def complete(first_nine: str) -> str:
    """The full valid code for nine leading digits (used by generators and tests)."""
    nine = clean(first_nine)
    return nine + str(check_digit(nine))
