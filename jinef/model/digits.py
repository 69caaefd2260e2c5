"""Digit forms: Persian (۰-۹), Arabic-Indic (٠-٩) and Latin (0-9) made one."""

from __future__ import annotations

import re

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
LATIN_DIGITS = "0123456789"

# str.translate with a dict is slow on non-ASCII text (one failed lookup per letter); a few
# str.replace calls over the digits actually present are several times faster.
_TO_LATIN_PAIRS = tuple(zip(PERSIAN_DIGITS + ARABIC_DIGITS, LATIN_DIGITS * 2, strict=True))
_NON_LATIN_DIGIT = re.compile(f"[{PERSIAN_DIGITS}{ARABIC_DIGITS}]")
_TO_PERSIAN_PAIRS = tuple(zip(LATIN_DIGITS + ARABIC_DIGITS, PERSIAN_DIGITS * 2, strict=True))
_NON_PERSIAN_DIGIT = re.compile(f"[{LATIN_DIGITS}{ARABIC_DIGITS}]")


def to_latin_digits(text: str) -> str:
    """Replace Persian and Arabic-Indic digits with ASCII digits."""
    if _NON_LATIN_DIGIT.search(text) is None:
        return text
    for digit, latin in _TO_LATIN_PAIRS:
        if digit in text:
            text = text.replace(digit, latin)
    return text


def to_persian_digits(text: str) -> str:
    """Replace ASCII and Arabic-Indic digits with Persian digits (for display)."""
    if _NON_PERSIAN_DIGIT.search(text) is None:
        return text
    for digit, persian in _TO_PERSIAN_PAIRS:  # same speed reason as to_latin_digits
        if digit in text:
            text = text.replace(digit, persian)
    return text
