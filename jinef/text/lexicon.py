"""Lookup tables built once from :mod:`jinef.text.data.words`.

Every phrase is keyed by its *lookup form*: ZWNJ and spaces removed, «آ» written «ا». The
parser joins up to :data:`MAX_PHRASE_TOKENS` tokens to look a phrase up, so «بن بست»,
«بن‌بست» and «بنبست» reach the same entry. Keyboard-slip spellings of level words are
generated from :data:`~jinef.text.data.words.KEYBOARD_SLIPS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import product

from jinef.text.data import numbers as num_data
from jinef.text.data import words as w
from jinef.text.letters import fold_letters

ZWNJ = "\u200c"

# Kinds of entry.
TYPE = "type"  # thoroughfare type word
DETAIL = "detail"  # plate, unit, floor, entrance, building, postcode label
ADMIN = "admin"  # province ... neighbourhood
LANDMARK = "landmark"
FILLER = "filler"
IGNORED_WITH_VALUE = "ignored_with_value"
FLOOR_WORD = "floor_word"


@dataclass(frozen=True, slots=True)
class Entry:
    """What a word or phrase means to the parser."""

    kind: str
    canonical: str  # the form reported («بن‌بست», «نرسیده به»)
    field: str = ""  # DETAIL/ADMIN: the ParsedAddress field
    locality_type: str = ""  # ADMIN locality words
    value: int = 0  # FLOOR_WORD: the floor
    names_thoroughfare: bool = False  # LANDMARK: the following thoroughfare is the address's own
    slip: str = ""  # the keyboard-slip spelling this entry was reached by, if any


def lookup_form(text: str) -> str:
    """The key every table uses: no spaces or ZWNJ, «آ» as «ا»."""
    return text.replace(ZWNJ, "").replace(" ", "").replace("آ", "ا")


def _slip_spellings(word: str) -> list[str]:
    """Every spelling of ``word`` with one or more of its letters replaced by a keyboard slip."""
    meant_to_typed: dict[str, list[str]] = {}
    for typed, meant in w.KEYBOARD_SLIPS.items():
        meant_to_typed.setdefault(meant, []).append(typed)
    options = [[ch, *meant_to_typed.get(ch, [])] for ch in word]
    return [s for s in ("".join(p) for p in product(*options)) if s != word and s not in w.NOT_SLIPS]


def _build() -> tuple[dict[str, Entry], dict[str, int]]:
    table: dict[str, Entry] = {}
    first_tokens: dict[str, int] = {}

    def add(phrase: str, entry: Entry, slips: bool = False) -> None:
        parts = phrase.split()
        key = lookup_form(phrase)
        table.setdefault(key, entry)
        if len(parts) > 1:
            first = lookup_form(parts[0])
            first_tokens[first] = max(first_tokens.get(first, 1), len(parts))
        if slips:
            for spelling in _slip_spellings(key):
                table.setdefault(spelling, replace(entry, slip=spelling))

    for phrase, t in w.THOROUGHFARE_WORDS.items():
        entry = Entry(TYPE, str(t))
        add(phrase, entry, slips=True)
        _add_ezafe(add, phrase, entry)
    for phrase, field in w.DETAIL_WORDS.items():
        entry = Entry(DETAIL, phrase.replace(" ", ZWNJ) if field == "postcode" else phrase, field=field)
        add(phrase, entry, slips=True)
        _add_ezafe(add, phrase, entry)
    for phrase, (field, locality_type) in w.ADMIN_WORDS.items():
        entry = Entry(ADMIN, phrase, field=field, locality_type=str(locality_type))
        add(phrase, entry)
        _add_ezafe(add, phrase, entry)
    for phrase, (canonical, names) in w.LANDMARK_WORDS.items():
        add(phrase, Entry(LANDMARK, canonical, names_thoroughfare=names))
    for phrase in w.FILLER_WORDS:
        add(phrase, Entry(FILLER, phrase))
    for phrase in w.IGNORED_WITH_VALUE:
        add(phrase, Entry(IGNORED_WITH_VALUE, phrase))
    for phrase, value in num_data.FLOOR_WORDS.items():
        add(phrase, Entry(FLOOR_WORD, phrase.replace(" ", ""), value=value))
    return table, first_tokens


def _add_ezafe(add: Callable[[str, Entry], None], phrase: str, entry: Entry) -> None:
    """Also accept the ezafe glued to a word ending in a vowel letter: «کوچه‌ی», «جاده‌ی»."""
    if phrase[-1] in "هاو":
        add(phrase + "ی", entry)


WORDS, MULTI_TOKEN_FIRSTS = _build()
MAX_PHRASE_TOKENS = max(MULTI_TOKEN_FIRSTS.values(), default=1)

PREFIX_ABBREVIATIONS: dict[str, str] = dict(w.PREFIX_ABBREVIATIONS)
SUFFIX_ABBREVIATIONS: dict[str, str] = dict(w.SUFFIX_ABBREVIATIONS)
KEYBOARD_SLIPS: dict[str, str] = dict(w.KEYBOARD_SLIPS)
ABBREVIATION_NEEDS: dict[str, str] = dict(w.ABBREVIATION_NEEDS)
NAME_WORDS: frozenset[str] = frozenset(w.NAME_WORDS)
LANDMARK_ONLY_BEFORE_TYPE: frozenset[str] = frozenset(lookup_form(x) for x in w.LANDMARK_ONLY_BEFORE_TYPE)
NUMBER_SUFFIX_LETTERS: frozenset[str] = frozenset(w.NUMBER_SUFFIX_LETTERS)
EZAFE: frozenset[str] = frozenset(w.EZAFE)
WIDTH_WORDS: frozenset[str] = frozenset(w.WIDTH_WORDS)
NOT_POSTCODE_LABELS: tuple[str, ...] = tuple(lookup_form(x) for x in w.NOT_POSTCODE_LABELS)
PHONE_MIN_DIGITS = w.PHONE_MIN_DIGITS
HONORIFICS: frozenset[str] = frozenset(w.HONORIFICS)
DROPPABLE_TITLES: tuple[str, ...] = w.DROPPABLE_TITLES
AREA_TYPES: frozenset[str] = frozenset(w.AREA_TYPES)
DIRECTION_WORDS: frozenset[str] = frozenset(w.DIRECTION_WORDS)
THOROUGHFARE_RANK: dict[str, int] = {str(k): v for k, v in w.THOROUGHFARE_RANK.items()}
NEGATIVE_WORDS: frozenset[str] = frozenset(num_data.NEGATIVE_WORDS)
BASEMENT_FLOOR_WORDS: frozenset[str] = frozenset(num_data.BASEMENT_FLOOR_WORDS)
LOWEST_FLOOR, HIGHEST_FLOOR = num_data.LOWEST_FLOOR, num_data.HIGHEST_FLOOR


def label_form(text: str) -> str:
    """The key of a written label (a usage, a locality type): folded letters, lookup form, lower case."""
    return lookup_form(fold_letters(text).strip()).lower()


USAGE_LABELS: dict[str, str] = {label_form(k): v for k, v in w.USAGE_WORDS.items()}
LOCALITY_TYPE_LABELS: dict[str, str] = {label_form(k): v for k, v in w.LOCALITY_TYPE_WORDS.items()}


def usage_code(text: str) -> str | None:
    """The stored usage code of a written usage («مسکونی», «Residential», «residential»), None if unknown."""
    return USAGE_LABELS.get(label_form(text))


def locality_type_word(text: str) -> str | None:
    """The stored locality type of a written one («شهر», «city», «City»), None if unknown."""
    return LOCALITY_TYPE_LABELS.get(label_form(text))
