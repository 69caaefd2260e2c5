"""National code rules: any digit form, the check digit, named reasons; mobile numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.model.digits import ARABIC_DIGITS, PERSIAN_DIGITS, to_persian_digits
from jinef.read.verify import mobile as mob
from jinef.read.verify import national_code as nc

nine_digits = st.text(st.sampled_from("0123456789"), min_size=9, max_size=9)
valid_codes = nine_digits.map(nc.complete).filter(lambda s: len(set(s)) > 1)


def reference_check(first_nine: str) -> int:
    # domain.md §7 written out literally: s = Σ d_i × (11 − i), i = 1..9.
    s = sum(int(first_nine[i - 1]) * (11 - i) for i in range(1, 10))
    r = s % 11
    return r if r < 2 else 11 - r


@pytest.mark.parametrize(
    "code", ["0499370899", "0790419904", "0084575948", "0013542419", "1111111111"[:9] + "1"]
)
def test_known_codes_check_digit(code: str) -> None:
    assert nc.check_digit(code[:9]) == int(code[9])


@pytest.mark.parametrize(
    "text",
    ["0499370899", "۰۴۹۹۳۷۰۸۹۹", "٠٤٩٩٣٧٠٨٩٩", "049-937089-9", " 049 937 0899 ", "۰۴۹۹۳۷۰۸‌۹۹", "04993٧0۸99"],
)
def test_any_written_form_parses(text: str) -> None:
    assert nc.parse(text) == "0499370899"


def test_bad_check_digit_is_named() -> None:
    v = nc.validate("0499370898")
    assert not v.valid
    assert v.reasons == (nc.RULE_CHECK_DIGIT,)
    assert v.national_code is None


def test_repeated_digits_are_invalid_even_when_the_check_digit_fits() -> None:
    # 111111111 → s = 54, r = 10, check = 1: the checksum passes, the repetition rule does not.
    assert nc.check_digit("111111111") == 1
    assert nc.validate("1111111111").reasons == (nc.RULE_REPEATED,)
    assert nc.validate("۰۰۰۰۰۰۰۰۰۰").reasons == (nc.RULE_REPEATED,)


def test_every_failing_rule_is_reported() -> None:
    assert nc.validate("").reasons == (nc.RULE_EMPTY,)
    assert set(nc.validate("04993a0899").reasons) == {nc.RULE_NON_DIGIT}
    assert nc.validate("049937089").reasons == (nc.RULE_LENGTH,)
    v = nc.validate("04993708991x")
    assert set(v.reasons) == {nc.RULE_NON_DIGIT, nc.RULE_LENGTH}


def test_errors_and_reprs_never_echo_the_code() -> None:
    with pytest.raises(nc.NationalCodeError) as info:
        nc.parse("0499370898")
    assert "0499370898" not in str(info.value)
    assert "0499370899" not in repr(nc.validate("0499370899"))
    assert "0499370899" not in str(nc.validate("0499370899").as_dict())


@given(nine_digits)
def test_check_digit_matches_the_formula(nine: str) -> None:
    assert nc.check_digit(nine) == reference_check(nine)


@given(valid_codes)
def test_completed_codes_are_valid_in_every_digit_form(code: str) -> None:
    assert nc.parse(code) == code
    assert nc.parse(to_persian_digits(code)) == code
    assert nc.parse(code.translate(str.maketrans("0123456789", ARABIC_DIGITS))) == code
    assert nc.parse(f"{code[:3]}-{code[3:9]}-{code[9]}") == code


@given(valid_codes, st.integers(1, 9))
def test_any_other_last_digit_is_rejected(code: str, delta: int) -> None:
    wrong = code[:9] + str((int(code[9]) + delta) % 10)
    assert nc.RULE_CHECK_DIGIT in nc.validate(wrong).reasons


@given(valid_codes, st.integers(0, 8), st.integers(1, 9))
def test_a_single_changed_digit_is_caught_unless_the_check_digit_is_one(
    code: str, pos: int, delta: int
) -> None:
    # Weights 10..2 are non-zero mod 11, so a single-digit change always moves r; but r = 1 and
    # r = 10 both give check digit 1, so that one pair of residues cannot be told apart.
    changed = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1 :]
    if nc.is_valid(changed):
        assert code[9] == "1"


@given(st.text(max_size=14))
def test_validate_never_raises_and_agrees_with_parse(text: str) -> None:
    v = nc.validate(text)
    if v.valid:
        assert nc.parse(text) == v.national_code
    else:
        assert v.reasons
        with pytest.raises(nc.NationalCodeError):
            nc.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "09121234567",
        "+98 912 123 4567",
        "0098-912-1234567",
        "989121234567",
        "9121234567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "(0912) 123-4567",
        "٠٩١٢١٢٣٤٥٦٧",
    ],
)
def test_mobile_forms(text: str) -> None:
    assert mob.parse(text) == "09121234567"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", mob.RULE_EMPTY),
        ("0912123456", mob.RULE_LENGTH),
        ("02112345678", mob.RULE_NOT_MOBILE),
        ("0912x", mob.RULE_NON_DIGIT),
    ],
)
def test_mobile_rules(text: str, reason: str) -> None:
    assert reason in mob.validate(text).reasons


def test_mobile_mask_keeps_too_little_to_identify() -> None:
    masked = mob.mask("09121234567")
    assert masked == "09*******67"
    assert PERSIAN_DIGITS not in masked
