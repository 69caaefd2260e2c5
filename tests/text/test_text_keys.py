"""match_key: the same key for every way a name is written, different keys for different names."""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.model.digits import to_persian_digits
from jinef.text.data import words
from jinef.text.keys import key_tokens, match_key, match_key_without

SAME = [
    ["کوچه دوازدهم", "کوچه ۱۲", "کوچه 12", "کوچه ١٢", "ک ۱۲", "ک.۱۲", "ک۱۲", "کوچه ۱۲ ام", "کوچه ۱۲ام"],
    ["شهید نیکنام", "ش نیکنام", "ش. نیکنام", "ش.نیکنام", "شهيد نيكنام"],
    ["بن‌بست یاس", "بن بست یاس", "بنبست یاس", "بن یاس", "بن\u200dبست یاس"],
    ["بیست و دوم بهمن", "۲۲ بهمن", "بیست‌ودوم بهمن", "22بهمن"],
    ["کوچه سی‌ام", "کوچه سی ام", "کوچه ۳۰", "کوچه سیام"],
    ["آزادی غربی", "آزادی غ", "ازادی غربی", "آزادیِ غربی"],
    ["اسلام‌شهر", "اسلام شهر", "اسلامشهر"],
    ["كوچة فاطمي", "کوچه فاطمی", "ﮐﻮﭼﻪ ﻓﺎﻃﻤﯽ"],
    ["خیابان آزادی", "حیابان آزادی", "خ آزادی", "خ.آزادی", "ح آزادی"],
    ["پلاک ۵", "پ ۵", "ژ ۵", "پ۵"],
]


@pytest.mark.parametrize("group", SAME, ids=[g[0] for g in SAME])
def test_spellings_of_one_name_share_a_key(group: list[str]) -> None:
    assert {match_key(s) for s in group} == {match_key(group[0])}


@pytest.mark.parametrize(
    ("a", "b"),
    [("کوچه ۱۲", "کوچه ۱۳"), ("کوچه ۱۲", "خیابان ۱۲"), ("شهید نیکنام", "نیکنام"), ("سهام", "3")],
)
def test_different_names_have_different_keys(a: str, b: str) -> None:
    assert match_key(a) != match_key(b)


def test_key_values() -> None:
    assert match_key("کوچه دوازدهم") == "کوچه12"
    assert match_key("ش. نیکنام") == "شهیدنیکنام"
    assert match_key("") == ""
    assert match_key("  ،،  ") == ""
    assert key_tokens("خ ش نیکنام") == ["خیابان", "شهید", "نیکنام"]


def test_a_letter_alone_is_not_expanded() -> None:
    # «ک» with nothing after it qualifies nothing; «ش» before a number is not «شهید».
    assert match_key("بلوک ک") == "بلوکک"
    assert match_key("ش ۱۲") == "ش12"


def test_key_without_words() -> None:
    assert match_key_without("کوچه دوازدهم", ("کوچه",)) == "12"
    assert match_key_without("ک ۱۲", ("کوچه",)) == "12"
    assert match_key_without("خیابان شهید نیکنام", ("خیابان", "شهید")) == "نیکنام"


persian_text = st.text(alphabet="ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكةأإؤئآ ۀ", max_size=30)


@given(persian_text)
def test_key_ignores_zwnj_versus_space(text: str) -> None:
    assert match_key(text.replace(" ", "\u200c")) == match_key(text)


@given(persian_text)
def test_key_ignores_unicode_composition(text: str) -> None:
    assert match_key(unicodedata.normalize("NFD", text)) == match_key(unicodedata.normalize("NFC", text))


@given(st.text(alphabet="0123456789 کوچهپلاک", max_size=20))
def test_key_ignores_digit_script(text: str) -> None:
    assert match_key(to_persian_digits(text)) == match_key(text)


@given(st.text())
def test_key_never_fails(text: str) -> None:
    assert isinstance(match_key(text), str)


def test_key_is_fast_enough_for_a_registry() -> None:
    names = [f"خیابان شهید نیکنام {i}" for i in range(20000)] + [f"کوچه بهار{i} غربی" for i in range(20000)]
    start = time.perf_counter()
    for name in names:
        key_tokens(name)  # uncached: every name distinct
    rate = len(names) / (time.perf_counter() - start)
    assert rate > 20_000  # target is >100k/s; this only catches an order-of-magnitude slip


def test_honorific_does_not_change_the_key() -> None:
    assert match_key("امام خمینی (ره)") == match_key("امام خمینی") == match_key("امام خمینی ره")
    assert match_key("س") == "س"  # a one-letter name stays


def test_very_long_digit_runs_do_not_fail() -> None:
    assert match_key("1" * 5000 + " ام").startswith("111")


def _follower(need: str) -> str:
    return {"number": "۱۲", "floor": "۳", "word": "نیکنام"}.get(need, "گلستان")


@pytest.mark.parametrize("abbreviation", sorted(words.PREFIX_ABBREVIATIONS))
def test_every_prefix_abbreviation_expands_before_what_it_qualifies(abbreviation: str) -> None:
    full = words.PREFIX_ABBREVIATIONS[abbreviation].replace("\u200c", "")
    follower = _follower(words.ABBREVIATION_NEEDS.get(abbreviation, ""))
    assert key_tokens(f"{abbreviation} {follower}")[0] == full
    assert key_tokens(f"{abbreviation}. {follower}")[0] == full
    # With nothing after it, it is not a prefix: a direction, an honorific («س») or a letter.
    last = words.SUFFIX_ABBREVIATIONS.get(abbreviation, abbreviation)
    expected = ["ازادی"] if abbreviation in words.HONORIFICS else ["ازادی", last]
    assert key_tokens(f"آزادی {abbreviation}") == expected


@pytest.mark.parametrize("abbreviation", sorted(words.SUFFIX_ABBREVIATIONS))
def test_every_direction_abbreviation_expands_after_a_name(abbreviation: str) -> None:
    assert key_tokens(f"کارگر {abbreviation}") == ["کارگر", words.SUFFIX_ABBREVIATIONS[abbreviation]]


@pytest.mark.parametrize(("typed", "meant"), sorted(words.KEYBOARD_SLIPS.items()))
def test_every_keyboard_slip_of_an_abbreviation(typed: str, meant: str) -> None:
    assert key_tokens(f"{typed} ۱۲") == key_tokens(f"{meant} ۱۲")
