"""Persian number words (cardinal and ordinal) and floor words.

Spelling variants people write (شیش, پونزده, هیجده, ...) are listed next to the standard form;
ordinals and compounds are generated from these tables by :mod:`jinef.text.numbers`.
"""

from __future__ import annotations

UNITS: dict[str, int] = {
    "یک": 1,
    "دو": 2,
    "سه": 3,
    "چهار": 4,
    "پنج": 5,
    "شش": 6,
    "شیش": 6,
    "هفت": 7,
    "هشت": 8,
    "نه": 9,
}

TEENS: dict[str, int] = {
    "ده": 10,
    "یازده": 11,
    "دوازده": 12,
    "سیزده": 13,
    "چهارده": 14,
    "پانزده": 15,
    "پونزده": 15,
    "شانزده": 16,
    "شونزده": 16,
    "هفده": 17,
    "هیفده": 17,
    "هجده": 18,
    "هیجده": 18,
    "نوزده": 19,
}

TENS: dict[str, int] = {
    "بیست": 20,
    "سی": 30,
    "چهل": 40,
    "پنجاه": 50,
    "شصت": 60,
    "هفتاد": 70,
    "هشتاد": 80,
    "نود": 90,
}

HUNDREDS: dict[str, int] = {
    "صد": 100,
    "یکصد": 100,
    "دویست": 200,
    "سیصد": 300,
    "چهارصد": 400,
    "پانصد": 500,
    "پونصد": 500,
    "ششصد": 600,
    "شیشصد": 600,
    "هفتصد": 700,
    "هشتصد": 800,
    "نهصد": 900,
}

THOUSAND = "هزار"

# The word joining parts of a compound number: «بیست و سوم».
CONJUNCTION = "و"

# Ordinals are the cardinal + «م», except these last words.
ORDINAL_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "سه": ("سوم",),
    "سی": ("سیام",),  # «سی‌ام»; stored without ZWNJ, the form lookups use
}
# Ordinals of one that are not «یکم».
FIRST_WORDS: tuple[str, ...] = ("اول", "نخست")
# Endings added to an ordinal («دومین») or written apart from a number («۱۲ ام», «دوازده‌ام»).
ORDINAL_ENDINGS: tuple[str, ...] = ("ام", "امین", "مین")

# Floors named by a word. «زیرزمین دوم» is −2: the ordinal after a basement word counts down.
FLOOR_WORDS: dict[str, int] = {
    "همکف": 0,
    "هم کف": 0,
    "پیلوت": 0,
    "زیرزمین": -1,
    "زیر زمین": -1,
}
BASEMENT_FLOOR_WORDS: tuple[str, ...] = ("زیرزمین",)
NEGATIVE_WORDS: tuple[str, ...] = ("منفی",)

# Generated spellings that are ordinary words and must not be read as numbers («سهام»: shares).
NOT_NUMBERS: frozenset[str] = frozenset({"سهام"})

# Floors outside this range are not floors (a typo, or a number that belongs elsewhere).
LOWEST_FLOOR = -10
HIGHEST_FLOOR = 200
