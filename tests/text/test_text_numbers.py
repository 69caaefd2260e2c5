"""Number words: every spelling from 1 to 999, ordinals, compounds, spacing variants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.text.numbers import convert_number_words, number_word_value, to_int

# An independent speller (standard spellings only) to check the generated table against.
_UNITS = ["", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه"]
_TEENS = ["ده", "یازده", "دوازده", "سیزده", "چهارده", "پانزده", "شانزده", "هفده", "هجده", "نوزده"]
_TENS = ["", "", "بیست", "سی", "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود"]
_HUNDREDS = ["", "صد", "دویست", "سیصد", "چهارصد", "پانصد", "ششصد", "هفتصد", "هشتصد", "نهصد"]


def spell(n: int) -> list[str]:
    h, r = divmod(n, 100)
    words = [_HUNDREDS[h]] if h else []
    if 10 <= r < 20:
        words.append(_TEENS[r - 10])
    else:
        if r >= 20:
            words.append(_TENS[r // 10])
        if r % 10:
            words.append(_UNITS[r % 10])
    return words


def ordinal(words: list[str]) -> list[str]:
    last = {"سه": "سوم", "سی": "سی‌ام"}.get(words[-1], words[-1] + "م")
    return [*words[:-1], last]


@given(st.integers(1, 999))
def test_every_cardinal_and_ordinal_up_to_999(n: int) -> None:
    words = spell(n)
    assert number_word_value(" و ".join(words)) == n
    assert number_word_value(" و ".join(ordinal(words))) == n
    assert number_word_value("\u200cو\u200c".join(ordinal(words))) == n  # written with ZWNJ


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("دوازدهم", 12),
        ("یکم", 1),
        ("اول", 1),
        ("نخستین", 1),
        ("بیست و سوم", 23),
        ("بیست‌وسوم", 23),
        ("سی‌ام", 30),
        ("سی ام", 30),
        ("سیام", 30),
        ("دومین", 2),
        ("پونزده", 15),
        ("شیشم", 6),
        ("یکصد و بیست و یکم", 121),
        ("نهصد و نود و نهم", 999),
        ("هزار", 1000),
    ],
)
def test_number_words(text: str, value: int) -> None:
    assert number_word_value(text) == value


@pytest.mark.parametrize("text", ["سهام", "آزادی", "", "و", "بیست و"])
def test_words_that_are_not_numbers(text: str) -> None:
    assert number_word_value(text) is None


def test_to_int_takes_digits_of_any_script_and_words() -> None:
    assert to_int("۱۲") == to_int("١٢") == to_int("12") == to_int("دوازدهم") == 12
    assert to_int("آزادی") is None


def test_convert_number_words_in_a_token_list() -> None:
    tokens, changes = convert_number_words(["کوچه", "بیست", "و", "سوم", "بهمن", "12", "ام"])
    assert tokens == ["کوچه", "23", "بهمن", "12"]
    assert changes == [("بیست و سوم", "23"), ("12 ام", "12")]
    assert convert_number_words(["خیابان", "آزادی"]) == (["خیابان", "آزادی"], [])
