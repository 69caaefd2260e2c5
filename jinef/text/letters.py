"""Letter folds: Arabic letter forms to Persian, ZWNJ and look-alikes made canonical.

The fold tables are data, so a new variant is one more row, not one more ``if``.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic presentation of letters that Persian writes differently.
ARABIC_TO_PERSIAN: dict[str, str] = {
    "ي": "ی",
    "ى": "ی",
    "ئ": "ی",
    "ك": "ک",
    "ة": "ه",
    "ۀ": "ه",
    "أ": "ا",
    "إ": "ا",
    "ٱ": "ا",
    "ؤ": "و",
    "ڪ": "ک",
    "ھ": "ه",
    "ە": "ه",  # what NFD leaves of «ۀ»
    "ہ": "ه",
    "ۂ": "ه",
    "ۃ": "ه",
}

ZWNJ = "\u200c"
# Characters people (and keyboards) put where a zero-width non-joiner belongs.
ZWNJ_LOOKALIKES = ("\u200c", "\u200d", "\u200b", "\u200e", "\u200f", "\u00ad", "\ufeff")

DIACRITICS = "".join(chr(c) for c in range(0x064B, 0x0653)) + "\u0670\u0654\u0655"
TATWEEL = "\u0640"

_FOLD = str.maketrans(
    {**ARABIC_TO_PERSIAN, **{c: None for c in DIACRITICS + TATWEEL}}
)
_WS = re.compile(r"\s+")


def fold_letters(text: str) -> str:
    """NFC, Arabic letter forms to Persian, diacritics and tatweel removed."""
    return unicodedata.normalize("NFC", text).translate(_FOLD)


def canonical_zwnj(text: str) -> str:
    """Make every ZWNJ look-alike one ZWNJ (display form)."""
    for ch in ZWNJ_LOOKALIKES[1:]:
        text = text.replace(ch, ZWNJ)
    return text


def name_key(text: str, drop_words: tuple[str, ...] = ()) -> str:
    """A comparison key for a place name: folded, no ZWNJ or spaces, type words dropped.

    «شهرستان اسلام‌شهر», «اسلام شهر» and «اسلامشهر» share one key.
    """
    text = fold_letters(text)
    for ch in ZWNJ_LOOKALIKES:
        text = text.replace(ch, " ")
    words = [w for w in _WS.split(text.strip()) if w and w not in drop_words]
    return "".join(words)
