"""Each normalisation step alone, the pipeline, and the letter/digit helpers it builds on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.text import normalize as nz
from jinef.text.letters import canonical_zwnj, fold_letters, name_key

ZWNJ = "\u200c"


def test_remove_control_chars_turns_junk_into_spaces() -> None:
    assert nz.remove_control_chars("خیابان\x00آزادی\x1b\x7f\ud800") == "خیابان آزادی "
    assert nz.remove_control_chars("الف\nب\tج") == "الف\nب\tج"  # line breaks separate parts


def test_nfc_composes_hamza_and_madda() -> None:
    assert nz.nfc("ا\u0653") == "آ"
    assert nz.nfc("ي\u0654") == "ئ"


def test_presentation_forms_become_plain_letters() -> None:
    assert nz.fold_presentation_forms("ﺁﺯﺍﺩﻯ") == "آزادى"
    assert nz.fold_presentation_forms("ﻻﻟﻪ") == "لاله"
    assert nz.fold_presentation_forms("آزادی") == "آزادی"


@pytest.mark.parametrize(
    ("arabic", "persian"),
    [
        ("علي", "علی"),
        ("مصطفى", "مصطفی"),
        ("كوچه", "کوچه"),
        ("فاطمة", "فاطمه"),
        ("أحمد", "احمد"),
        ("مؤمن", "مومن"),
    ],
)
def test_arabic_letters_become_persian(arabic: str, persian: str) -> None:
    assert nz.fold_arabic_letters(arabic) == persian


def test_diacritics_and_tatweel_are_removed() -> None:
    assert nz.strip_diacritics("خِیابـــانِ سوّم") == "خیابان سوم"
    assert nz.strip_diacritics("طبقهٔ") == "طبقه"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("بن\u200cبست", f"بن{ZWNJ}بست"),
        ("بن\u200dبست", f"بن{ZWNJ}بست"),  # ZWJ typed for ZWNJ
        ("بن\u00adبست", f"بن{ZWNJ}بست"),  # soft hyphen from copy-paste
        ("بن\u200c\u200cبست", f"بن{ZWNJ}بست"),
        ("بن\u200c بست", "بن بست"),  # next to a space it means nothing
        ("\u200cبن", "بن"),
        ("۱۲\u200cام", "۱۲ام"),
    ],
)
def test_zwnj_made_canonical(text: str, expected: str) -> None:
    assert nz.unify_zwnj(text) == expected


def test_digits_become_ascii() -> None:
    assert nz.unify_digits("پلاک ۱۲ و ١٣ و 14") == "پلاک 12 و 13 و 14"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("تهران، آزادی", "تهران ، آزادی"),
        ("تهران؛آزادی", "تهران ، آزادی"),
        ("تهران - آزادی", "تهران ، آزادی"),
        ("خ.آزادی", "خ آزادی"),
        ("پلاک: ۱۲", "پلاک  ۱۲"),
        ("«گلستان»", " گلستان "),
        ("پلاک 12/3", "پلاک 12/3"),  # a plate with a sub-number
        ("طبقه -1", "طبقه -1"),  # a minus
    ],
)
def test_punctuation_becomes_separators(text: str, expected: str) -> None:
    # Spacing is collapse_whitespace's job: compare the words and separators only.
    assert nz.unify_punctuation(text).split() == expected.split()


def test_collapse_whitespace_tidies_separators() -> None:
    assert nz.collapse_whitespace("  تهران  ،  ، آزادی ، ") == "تهران، آزادی"


def test_default_pipeline_on_a_messy_address() -> None:
    text = "تهران ,خ.آزادي - كوچة ۱۲/۳ ؛ پلاك ١٢   طبقه -۱"
    assert nz.run_pipeline(text) == "تهران، خ آزادی، کوچه 12/3، پلاک 12 طبقه -1"


def test_pipeline_is_configurable_by_dotted_paths() -> None:
    steps = ["jinef.text.normalize.unify_digits", "jinef.model.digits.to_persian_digits"]
    assert nz.run_pipeline("پلاک 12", steps) == "پلاک ۱۲"
    assert nz.build_pipeline(steps)("١٢") == "۱۲"
    assert nz.run_pipeline("ي", []) == "ي"


def test_a_bad_step_path_is_an_error() -> None:
    with pytest.raises(ValueError):
        nz.resolve("nodots")
    with pytest.raises(AttributeError):
        nz.resolve("jinef.text.normalize.no_such_step")


@given(st.text())
def test_normalize_never_fails_and_is_idempotent(text: str) -> None:
    once = nz.normalize(text)
    assert nz.normalize(once) == once
    assert not any(ord(c) < 32 for c in once)


def test_existing_letter_helpers_keep_their_behaviour() -> None:
    assert fold_letters("كوچة علي") == "کوچه علی"
    assert canonical_zwnj("بن\u200dبست") == f"بن{ZWNJ}بست"
    assert name_key("شهرستان اسلام‌شهر", ("شهرستان",)) == name_key("اسلام شهر") == "اسلامشهر"


arabic_script = st.text(
    alphabet=st.one_of(
        st.sampled_from("ابپتجچخدرزژسشکگلمنوهیيىكةۀأإؤئآ ،,؛;-/.:«»_0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"),
        st.sampled_from("\u200c\u200d\u200b\u00ad\ufeff\u064b\u064e\u0650\u0651\u0640\u0653\u0654\n\t\x00"),
        st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF),
    ),
    max_size=40,
)


@given(st.one_of(arabic_script, st.text(max_size=40)))
def test_fused_normalize_equals_the_default_steps(text: str) -> None:
    assert nz.normalize(text) == nz.run_pipeline(text, nz.DEFAULT_STEPS)
