"""Coordinates as people type them: Latin, Persian or Arabic-Indic digits, Persian decimal separator."""

from __future__ import annotations

from jinef.model.digits import to_latin_digits

# Persian/Arabic decimal separator and minus signs people paste along with Persian digits.
_NUMBER_FIXES = str.maketrans({"٫": ".", "٬": "", "−": "-", "\u200e": "", "\u200f": ""})


def parse_coordinate(text: str) -> float | None:
    """A coordinate typed with Latin, Persian or Arabic-Indic digits; None when it is not a number."""
    cleaned = to_latin_digits(text).translate(_NUMBER_FIXES).strip()
    try:
        return float(cleaned)
    except ValueError:
        return None
