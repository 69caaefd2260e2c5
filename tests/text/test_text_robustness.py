"""Nothing a caller can pass makes the parser crash or stall."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinef.text.parser import MAX_INPUT_CHARS, parse_address


@pytest.mark.parametrize("text", ["", " ", "\u200c", "،،،", "...", "\n\t"])
def test_empty_inputs_give_an_empty_parse(text: str) -> None:
    p = parse_address(text)
    assert p.is_empty
    assert p.ignored == [] and p.corrections == []


def test_latin_only_text_becomes_places() -> None:
    p = parse_address("Tehran, Azadi St.")
    assert p.places == ["Tehran", "Azadi St"]
    assert p.thoroughfares == [] and p.postcode is None


def test_control_characters_are_separators_not_letters() -> None:
    p = parse_address("خیابان\x00آزادی\x07، پلاک\x1b۱۲")
    assert p.thoroughfares[0].name == "آزادی"
    assert p.plate == "12"


def test_binary_junk() -> None:
    junk = bytes(range(256)).decode("latin-1") + "\ud800\udfff\ufffe"
    json.dumps(parse_address(junk).to_dict(), ensure_ascii=False)


def test_a_100_kb_string_is_cut_and_fast() -> None:
    text = "خیابان آزادی، کوچه ۱۲، " * 5000
    assert len(text) > 100_000
    start = time.perf_counter()
    p = parse_address(text)
    assert time.perf_counter() - start < 0.5
    assert p.ignored[0].startswith(f"<{len(text) - MAX_INPUT_CHARS} characters")
    assert p.thoroughfares[0].name == "آزادی"


def test_a_long_run_of_single_letters_does_not_recurse() -> None:
    p = parse_address("خ " * 50_000)
    assert isinstance(p.thoroughfares, list)


@settings(max_examples=300)
@given(st.text())
def test_any_text_parses_to_json(text: str) -> None:
    d = parse_address(text).to_dict()
    json.dumps(d, ensure_ascii=False)


letters = st.sampled_from(
    ["خ", "ک", "پ", "ط", "ب", "ش", "بن", "بست", "خیابان", "کوچه", "پلاک", "طبقه", "واحد", "جنب", "نبش",
     "اول", "دوازدهم", "و", "سی", "ام", "۱۲", "-۱", "منفی", "همکف", "زیرزمین", "، ", ".", "ي", "ك",
     "استان", "شهر", "آزادی", "1345678915", "ی", "الف"]
)


@settings(max_examples=500)
@given(st.lists(letters, max_size=25))
def test_random_address_words_never_crash(words: list[str]) -> None:
    p = parse_address(" ".join(words))
    assert p.floor is None or isinstance(p.floor, int)
    assert all(t.name for t in p.thoroughfares)


def test_parse_is_fast_enough_for_batch_geocoding() -> None:
    text = "تهران، خ آزادی، خیابان شهید نیکنام، ک {}، پلاک ۱۲، ط۳، واحد ۷، کد پستی ۱۳۴۵۶۷۸۹۱۵"
    texts = [text.format(i) for i in range(2000)]
    start = time.process_time()
    for text in texts:
        parse_address(text)
    rate = len(texts) / (time.process_time() - start)
    assert rate > 2_000  # target is >10k/s; this only catches an order-of-magnitude slip
