"""Postcode rules: parsing any digit form, named reasons, decomposition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.model import postcode as pc

route_digit = st.sampled_from("13456789")
any_digit = st.sampled_from("0123456789")
valid_codes = (
    st.tuples(st.text(route_digit, min_size=5, max_size=5), st.text(any_digit, min_size=5, max_size=5))
    .map("".join)
    .filter(lambda s: len(set(s)) > 1)
)


@pytest.mark.parametrize(
    "text",
    ["1345678901", "13456-78901", "۱۳۴۵۶-۷۸۹۰۱", "١٣٤٥٦٧٨٩٠١", " 13456 78901 ", "۱۳۴۵۶‌۷۸۹۰۱"],
)
def test_any_written_form_parses(text: str) -> None:
    assert pc.parse(text) == "1345678901"


def test_every_failing_rule_is_reported() -> None:
    v = pc.validate("12345")
    assert not v.valid
    assert set(v.reasons) == {pc.RULE_LENGTH, pc.RULE_ROUTE_ZERO_OR_TWO}
    assert v.postcode is None


def test_repeated_digit() -> None:
    assert pc.validate("1111111111").reasons == (pc.RULE_REPEATED,)


def test_non_digit_and_empty() -> None:
    assert pc.RULE_NON_DIGIT in pc.validate("13456a7890").reasons
    assert pc.validate("   ").reasons == (pc.RULE_EMPTY,)


def test_a_two_in_the_last_five_is_valid() -> None:
    # The regex seen in the wild rejects this real-looking code; the national rules do not.
    assert pc.is_valid("1345672222")


def test_parse_raises_with_the_reasons() -> None:
    with pytest.raises(pc.PostcodeError, match="first five"):
        pc.parse("1045678901")


@given(valid_codes)
def test_valid_codes_round_trip_through_every_form(code: str) -> None:
    from jinef.model.digits import to_persian_digits

    assert pc.parse(code) == code
    assert pc.parse(to_persian_digits(pc.format_postcode(code))) == code
    assert pc.from_int(pc.to_int(code)) == code


@given(st.text(max_size=14))
def test_validate_never_crashes_and_is_consistent(text: str) -> None:
    v = pc.validate(text)
    assert v.valid == (v.postcode is not None)
    if v.valid:
        assert len(v.postcode or "") == 10


@given(valid_codes, st.integers(min_value=0, max_value=4), st.sampled_from("02"))
def test_zero_or_two_in_route_always_rejected(code: str, pos: int, bad: str) -> None:
    broken = code[:pos] + bad + code[pos + 1 :]
    assert pc.RULE_ROUTE_ZERO_OR_TWO in pc.validate(broken).reasons


@given(valid_codes)
def test_decompose(code: str) -> None:
    u = pc.decompose(code, "urban")
    assert u.route + (u.block or "") + u.serial == code
    r = pc.decompose(code, "rural")
    assert r.route + (r.village or "") + r.serial == code
    assert len(r.serial) == 3 and len(u.serial) == 4


@given(st.one_of(st.text(alphabet="0123456789", min_size=9, max_size=11), st.text(max_size=12)))
def test_quick_canonical_agrees_with_validate(text: str) -> None:
    """The cheap check never accepts what the rules refuse, and accepts every canonical valid code."""
    quick = pc.quick_canonical(text)
    v = pc.validate(text)
    if quick is not None:
        assert v.valid and v.postcode == text == quick
    elif v.valid:
        assert v.postcode != text  # valid only after cleaning (other digits, separators)
