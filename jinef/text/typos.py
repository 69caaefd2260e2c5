"""One-letter typos of the words an address is read by: thoroughfare type words and ordinal numbers.

«خیابن شهید بهشتی» and «کوچه چهاررم» are typed every day. The parser reads an address by its level words, so
a mistyped one would turn the whole part into an unplaced name. Here every spelling one edit away (a letter
dropped, added, changed, or two swapped) from a type word or a one-word ordinal of five letters or more is
mapped to the word meant — except spellings that are words in their own right (another type word, a number,
a level word) or that two words could be a typo of. Shorter words are left alone: one edit from «کوچه» is
«کوچک» (small). The parser uses these only where such a word is expected (see :mod:`jinef.text.parser`).
"""

from __future__ import annotations

from functools import cache

from jinef.text import lexicon as lx
from jinef.text.numbers import NUMBER_WORDS

MIN_LENGTH = 5
# Letters a typo may add or put in: the Persian alphabet as normalised text has it.
ALPHABET = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآ"


def one_edit(word: str) -> set[str]:
    """Every string one edit (optimal string alignment) away from ``word``, other than itself."""
    out: set[str] = set()
    n = len(word)
    for i in range(n):
        out.add(word[:i] + word[i + 1:])  # a letter dropped
        for c in ALPHABET:
            out.add(word[:i] + c + word[i + 1:])  # changed
        if i + 1 < n:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2:])  # two swapped
    for i in range(n + 1):
        for c in ALPHABET:
            out.add(word[:i] + c + word[i:])  # added
    out.discard(word)
    return out


def typo_table(words: dict[str, str], known: set[str]) -> dict[str, str]:
    """Typo → the word meant, for the spellings in ``words`` (spelling → the word it means) of at least
    :data:`MIN_LENGTH` letters; ``known`` words are never typos, nor a spelling two meanings could be a typo of."""
    meant: dict[str, str | None] = {}
    for spelling, word in words.items():
        if len(spelling) < MIN_LENGTH:
            continue
        for t in one_edit(spelling):
            if t in known:
                continue
            meant[t] = word if meant.get(t, word) == word else None
    return {t: w for t, w in meant.items() if w is not None}


# Lookup forms (no ZWNJ, «آ» as «ا»), as the parser's keys are written.
_TYPE_WORDS = {k: e.canonical for k, e in lx.WORDS.items() if e.kind == lx.TYPE and " " not in k}
# Ordinals below 100 written as one word (compounds are typed as several words), each meaning its shortest spelling:
# «چهارم» and «چهارام» are one number, so a typo of either is not a conflict.
_ONE_WORD_ORDINALS = [w for w, v in NUMBER_WORDS.items() if v < 100 and w.endswith("م") and " " not in w]
_SHORTEST = {v: min((w for w in _ONE_WORD_ORDINALS if NUMBER_WORDS[w] == v), key=len)
             for v in {NUMBER_WORDS[w] for w in _ONE_WORD_ORDINALS}}
_ORDINALS = {w: _SHORTEST[NUMBER_WORDS[w]] for w in _ONE_WORD_ORDINALS}
_KNOWN = set(lx.WORDS) | set(NUMBER_WORDS) | set(lx.PREFIX_ABBREVIATIONS) | set(lx.KEYBOARD_SLIPS)


@cache
def _type_word_typos() -> dict[str, str]:
    return typo_table(_TYPE_WORDS, _KNOWN)


@cache
def _ordinal_typos() -> dict[str, str]:
    return typo_table(_ORDINALS, _KNOWN)


def type_word_meant(key: str) -> str | None:
    """The thoroughfare type word a lookup form is one typo away from, if any (tables made on first use)."""
    return _type_word_typos().get(key)


def ordinal_meant(key: str) -> str | None:
    """The one-word ordinal a lookup form is one typo away from, if any."""
    return _ordinal_typos().get(key)
