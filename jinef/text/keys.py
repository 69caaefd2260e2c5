"""Match keys: one string per name, equal for every way people write that name.

:func:`match_key` is applied by the geocoder to registry names and to query parts alike, so
«کوچه دوازدهم» and «کوچه ۱۲», or «شهید نیکنام», «ش نیکنام» and «ش. نیکنام», meet on one key.
It runs on millions of registry names, so it is one ``str.translate`` for all character-level
folds plus a short loop over the (few) tokens; results are memoised.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from jinef.model.digits import ARABIC_DIGITS, PERSIAN_DIGITS
from jinef.text.data.punctuation import STRONG_SEPARATORS, WEAK_SEPARATORS
from jinef.text.letters import ARABIC_TO_PERSIAN, DIACRITICS, TATWEEL, ZWNJ_LOOKALIKES
from jinef.text.lexicon import (
    ABBREVIATION_NEEDS,
    FLOOR_WORD,
    HONORIFICS,
    KEYBOARD_SLIPS,
    NEGATIVE_WORDS,
    PREFIX_ABBREVIATIONS,
    SUFFIX_ABBREVIATIONS,
    WORDS,
    lookup_form,
)
from jinef.text.numbers import NUMBER_STARTS, ORDINAL_ENDINGS, convert_number_words


def _key_table() -> dict[int, str | None]:
    """Every character-level fold of a key in one translation table."""
    table: dict[int, str | None] = {}
    # Presentation forms first, so their plain letters then go through the other folds.
    for cp in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00)]:
        plain = unicodedata.normalize("NFKC", chr(cp))
        if plain != chr(cp):
            table[cp] = plain
    for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)]:
        table[cp] = " "
    table.update({ord(k): v for k, v in ARABIC_TO_PERSIAN.items()})
    table.update(dict.fromkeys(map(ord, DIACRITICS + TATWEEL + "\u0653"), None))
    table[ord("آ")] = "ا"  # «آزادی» and «ازادی» are one name
    table.update(dict.fromkeys(map(ord, ZWNJ_LOOKALIKES), " "))
    table.update(dict.fromkeys(map(ord, STRONG_SEPARATORS + WEAK_SEPARATORS), " "))
    table.update({ord(d): str(i) for digits in (PERSIAN_DIGITS, ARABIC_DIGITS) for i, d in enumerate(digits)})
    table.update({ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
    # Apply the table to its own outputs so one pass is enough (e.g. presentation ﻙ → ك → ک).
    for cp, out in list(table.items()):
        if out:
            table[cp] = "".join(table.get(ord(c), c) or "" for c in out)
    return table


_TABLE = _key_table()
# The same table as a list indexed by code point: str.translate is several times faster with a
# list than with a dict on non-ASCII text (no failing lookups per unchanged letter).
_TABLE_LIST: list[str | None] = [chr(cp) for cp in range(0x10000)]
for _cp, _out in _TABLE.items():
    if _cp < 0x10000:
        _TABLE_LIST[_cp] = _out
# Letters, digits and the space that no fold changes: a name made only of these skips the table.
_KEEP = "ءابتثجحخدذرزسشصضطظعغفقلمنوهپچژکگی" + "0123456789abcdefghijklmnopqrstuvwxyz "
_NEEDS_TABLE = re.compile(f"[^{_KEEP}]")
_SPECIAL_FIRST = {
    lookup_form(k): k for k in (*PREFIX_ABBREVIATIONS, *SUFFIX_ABBREVIATIONS, *KEYBOARD_SLIPS)
}
# Tokens that need the slow path: number words, ordinal endings, abbreviations, slips of type words.
_SLOW = (
    frozenset(NUMBER_STARTS)
    | ORDINAL_ENDINGS
    | frozenset(_SPECIAL_FIRST)
    | frozenset(k for k, e in WORDS.items() if e.slip)
)
_GLUE = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")


def _fits(need: str, nxt: str) -> bool:
    """Does ``nxt`` fit what an abbreviation needs after it (same rules as the parser)?"""
    is_number = nxt.isdigit() or nxt in NUMBER_STARTS
    entry = WORDS.get(nxt)
    if need == "floor":
        return is_number or nxt in NEGATIVE_WORDS or (entry is not None and entry.kind == FLOOR_WORD)
    if entry is not None:
        return False
    if need == "number":
        return is_number
    if need == "word":
        return not is_number
    return True


def _abbreviation(tokens: list[str], i: int) -> str | None:
    """What a one- or two-letter token stands for here, or None when it is not an abbreviation."""
    tok = tokens[i]
    if i + 1 < len(tokens):
        nxt = tokens[i + 1]
        if tok + nxt in WORDS:
            return None  # the first half of a phrase: «بن بست»
        meant = tok if tok in PREFIX_ABBREVIATIONS else KEYBOARD_SLIPS.get(tok, "")
        if meant in PREFIX_ABBREVIATIONS and _fits(ABBREVIATION_NEEDS.get(meant, ""), nxt):
            return PREFIX_ABBREVIATIONS[meant].replace("\u200c", "")
    elif i > 0 and tok in SUFFIX_ABBREVIATIONS:
        return SUFFIX_ABBREVIATIONS[tok]
    return None


def fold_tokens(text: str) -> list[str]:
    """The words of ``text`` with only the character folds of :func:`match_key` (no word rules).

    For a half-typed word: «دو» must stay a prefix of «دولت», not become the number 2.
    """
    if _NEEDS_TABLE.search(text) is not None:
        text = text.translate(_TABLE_LIST)
    tokens = text.split()
    if not all(t.isalpha() or t.isdigit() for t in tokens):
        tokens = _GLUE.sub(" ", " ".join(tokens)).split()
    return tokens


def key_tokens(text: str) -> list[str]:
    """The words of :func:`match_key` before they are joined."""
    if _NEEDS_TABLE.search(text) is not None:
        text = text.translate(_TABLE_LIST)
    tokens = text.split()
    if not all(t.isalpha() or t.isdigit() for t in tokens):
        tokens = _GLUE.sub(" ", " ".join(tokens)).split()  # «ک۱۲» → «ک», «12»
    if len(tokens) > 1 and tokens[-1] in HONORIFICS:
        tokens.pop()  # «امام خمینی (ره)» is «امام خمینی»
    if _SLOW.isdisjoint(tokens):
        return tokens
    out: list[str] = []
    for i, tok in enumerate(tokens):
        entry = WORDS.get(tok)
        if entry is not None and entry.slip:
            out.append(lookup_form(entry.canonical))
            continue
        if tok in _SPECIAL_FIRST:
            full = _abbreviation(tokens, i)
            if full is not None:
                out.append(full)
                continue
        out.append(tok)
    return convert_number_words(out, out)[0]


@lru_cache(maxsize=1 << 17)
def match_key(text: str) -> str:
    """The comparison key of a name: letters folded, no ZWNJ/spaces/punctuation, numbers as digits.

    «کوچه دوازدهم» → «کوچه12», «ش. نیکنام» → «شهیدنیکنام», «بن بست» → «بنبست».
    """
    return "".join(key_tokens(text))


def match_key_without(text: str, drop_words: tuple[str, ...]) -> str:
    """:func:`match_key` with whole words left out (e.g. type words, to compare bare names)."""
    drop = {match_key(w) for w in drop_words}
    return "".join(t for t in key_tokens(text) if t not in drop)
