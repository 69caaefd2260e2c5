"""parse_address on real ways of writing Persian addresses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jinef.text.parser import Correction, ParsedAddress, Thoroughfare, parse_address, split_thoroughfare

FULL = "تهران، خیابان آزادی، خیابان شهید نیکنام، کوچه دوازدهم، پلاک ۱۲، طبقه ۳، واحد ۷"


def kinds(p: ParsedAddress, kind: str) -> list[tuple[str, str]]:
    return [(c.original, c.result) for c in p.corrections if c.kind == kind]


def test_the_typical_address() -> None:
    p = parse_address(FULL)
    assert p.places == ["تهران"]
    assert p.thoroughfares == [
        Thoroughfare("خیابان", "آزادی"),
        Thoroughfare("خیابان", "شهید نیکنام"),
        Thoroughfare("کوچه", "12"),
    ]
    assert p.prev_thoroughfare == ("خیابان", "شهید نیکنام")
    assert p.last_thoroughfare is not None and p.last_thoroughfare.text == "کوچه 12"
    assert (p.plate, p.floor, p.unit) == ("12", 3, "7")
    assert kinds(p, "number_word") == [("دوازدهم", "12")]
    assert p.ignored == [] and p.landmarks == []


def test_abbreviated_and_glued_form_gives_the_same_levels() -> None:
    p = parse_address("تهران، خ.آزادی، خ ش نیکنام، ک۱۲، پ۱۲ ط۳ واحد ۷")
    full = parse_address(FULL)
    assert p.thoroughfares == full.thoroughfares
    assert (p.plate, p.floor, p.unit, p.places) == (full.plate, full.floor, full.unit, full.places)
    assert ("ش", "شهید") in kinds(p, "abbreviation")
    assert ("پ", "پلاک") in kinds(p, "abbreviation")


def test_swapped_last_two_thoroughfares_are_put_back_large_to_small() -> None:
    p = parse_address("تهران، کوچه ۱۲، خیابان نیکنام، پلاک ۵")
    assert [t.text for t in p.thoroughfares] == ["خیابان نیکنام", "کوچه 12"]
    assert kinds(p, "reordered") == [("کوچه 12 › خیابان نیکنام", "خیابان نیکنام › کوچه 12")]


def test_address_written_small_to_large_is_reversed() -> None:
    p = parse_address("واحد ۷، کوچه دوازدهم، خیابان شهید نیکنام، خیابان آزادی، تهران")
    assert [t.name for t in p.thoroughfares] == ["آزادی", "شهید نیکنام", "12"]
    assert p.unit == "7"


@pytest.mark.parametrize("text", ["ک ۱۲", "ک.۱۲", "ک۱۲", "کوچه ۱۲", "کوچه دوازدهم", "کوچه ي دوازدهم", "گ ۱۲"])
def test_alley_twelve_in_every_spelling(text: str) -> None:
    assert parse_address(text).thoroughfares == [Thoroughfare("کوچه", "12")]


def test_kaf_as_a_letter_is_not_an_abbreviation() -> None:
    p = parse_address("بلوک ک، پلاک ۴")
    assert p.entrance == "ک"
    assert p.thoroughfares == []
    assert kinds(p, "abbreviation") == []
    # Inside a word it is just a letter.
    assert parse_address("خیابان کوچک").thoroughfares == [Thoroughfare("خیابان", "کوچک")]


@pytest.mark.parametrize("text", ["بن‌بست یاس", "بن بست یاس", "بنبست یاس", "بن یاس", "بن\u200dبست یاس"])
def test_dead_end_variants(text: str) -> None:
    assert parse_address(text).thoroughfares == [Thoroughfare("بن‌بست", "یاس")]


def test_alley_dead_end_keeps_the_more_precise_type() -> None:
    p = parse_address("کوچه بن بست یاس")
    assert p.thoroughfares == [Thoroughfare("بن‌بست", "یاس")]
    assert p.ignored == ["کوچه"]


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("ط۳", 3),
        ("ط ۳", 3),
        ("ط.۳", 3),
        ("طبقه سوم", 3),
        ("طبقه‌ی دوم", 2),
        ("طبقه اول", 1),
        ("طبقه همکف", 0),
        ("همکف", 0),
        ("ط همکف", 0),
        ("زیرزمین", -1),
        ("زیر زمین", -1),
        ("زیرزمین دوم", -2),
        ("طبقه منفی یک", -1),
        ("طبقه منفی ۱", -1),
        ("طبقه -۱", -1),
    ],
)
def test_floors(text: str, floor: int) -> None:
    assert parse_address(f"خیابان آزادی، {text}").floor == floor


@pytest.mark.parametrize(
    "text",
    [
        "خیابان آزادی پلاک ۱۲ کدپستی ۱۳۴۵۶۷۸۹۱۵",
        "کد پستی: ۱۳۴۵۶-۷۸۹۱۵ خیابان آزادی پلاک ۱۲",
        "خیابان آزادی ١٣٤٥٦٧٨٩١٥ پلاک ۱۲",
        "13456 78915، خیابان آزادی، پلاک 12",
    ],
)
def test_postcode_anywhere_in_any_digits(text: str) -> None:
    p = parse_address(text)
    assert p.postcode == "1345678915"
    assert p.plate == "12"
    assert p.thoroughfares == [Thoroughfare("خیابان", "آزادی")]
    assert p.ignored == []


def test_an_invalid_ten_digit_number_is_ignored_with_the_rule_it_breaks() -> None:
    p = parse_address("خیابان آزادی ۱۲۳۴۵۶۷۸۹۰")
    assert p.postcode is None
    assert p.ignored == ["1234567890 (not a valid postcode: zero_or_two_in_first_five)"]


def test_landmarks_are_not_thoroughfares() -> None:
    p = parse_address("تهران، خیابان ولیعصر، جنب بانک ملی، روبروی مسجد، کوچه گلستان، پلاک ۵")
    assert p.landmarks == ["جنب بانک ملی", "روبروی مسجد"]
    assert [t.text for t in p.thoroughfares] == ["خیابان ولیعصر", "کوچه گلستان"]


def test_landmark_naming_a_thoroughfare_stays_a_landmark() -> None:
    p = parse_address("خیابان آزادی، نرسیده به میدان انقلاب، کوچه ۵")
    assert p.landmarks == ["نرسیده به میدان انقلاب"]
    assert [t.text for t in p.thoroughfares] == ["خیابان آزادی", "کوچه 5"]


def test_landmark_ends_at_the_next_level_word() -> None:
    p = parse_address("خیابان ولیعصر جنب بانک ملی کوچه گلستان پلاک ۵")
    assert p.landmarks == ["جنب بانک ملی"]
    assert [t.text for t in p.thoroughfares] == ["خیابان ولیعصر", "کوچه گلستان"]
    assert p.plate == "5"


@pytest.mark.parametrize("word", ["نبش", "انتهای", "ابتدای", "اول"])
def test_corner_or_end_of_an_alley_names_the_alley(word: str) -> None:
    p = parse_address(f"خیابان آزادی، {word} کوچه گلستان، پلاک ۳")
    assert [t.text for t in p.thoroughfares] == ["خیابان آزادی", "کوچه گلستان"]
    assert len(p.landmarks) == 1 and p.landmarks[0].endswith("کوچه گلستان")


def test_first_alley_is_a_number_not_a_landmark() -> None:
    p = parse_address("خیابان آزادی، کوچه اول")
    assert p.thoroughfares[-1] == Thoroughfare("کوچه", "1")
    assert p.landmarks == []


def test_mixed_arabic_and_persian_letters() -> None:
    mixed = parse_address("تهران، خيابان آزادي، كوچة دوازدهم، پلاك ۱۲")
    clean = parse_address("تهران، خیابان آزادی، کوچه دوازدهم، پلاک ۱۲")
    assert mixed.thoroughfares == clean.thoroughfares
    assert mixed.plate == clean.plate == "12"
    assert ("كوچة", "کوچه") in kinds(mixed, "letter_fold")
    assert kinds(clean, "letter_fold") == []


def test_mixed_digit_scripts() -> None:
    p = parse_address("کوچه ١٢، پلاک 1۲، طبقه ٣، واحد ۷")
    assert (p.thoroughfares[0].name, p.plate, p.floor, p.unit) == ("12", "12", 3, "7")


def test_street_names_with_numbers() -> None:
    assert parse_address("خیابان ۲۲ بهمن").thoroughfares == [Thoroughfare("خیابان", "22 بهمن")]
    assert parse_address("خیابان بیست و دوم بهمن").thoroughfares == [Thoroughfare("خیابان", "22 بهمن")]
    p = parse_address("تهران، ۱۶ متری اول، پلاک ۳")
    assert p.thoroughfares == [Thoroughfare("", "16 متری 1")]
    assert p.places == ["تهران"]


def test_shahid_is_part_of_the_name() -> None:
    for text in ["خیابان شهید نیکنام", "خ ش نیکنام", "خ ش. نیکنام"]:
        assert parse_address(text).thoroughfares == [Thoroughfare("خیابان", "شهید نیکنام")]


def test_direction_abbreviation_after_a_name() -> None:
    p = parse_address("خیابان آزادی غ، کوچه ۵")
    assert p.thoroughfares[0] == Thoroughfare("خیابان", "آزادی غربی")


@pytest.mark.parametrize(
    ("text", "type_word"),
    [
        ("م انقلاب", "میدان"),
        ("بل کشاورز", "بلوار"),
        ("ج قدیم", "جاده"),
        ("چ ولیعصر", "چهارراه"),
        ("فل دوم", "فلکه"),
        ("بز همت", "بزرگراه"),
        ("اتوبان همت", "بزرگراه"),
        ("کوی نصر", "کوی"),
        ("شهرک غرب", "شهرک"),
        ("مجتمع گلها", "مجتمع"),
        ("برج میلاد", "برج"),
        ("چهار راه ولیعصر", "چهارراه"),
    ],
)
def test_thoroughfare_type_words_and_abbreviations(text: str, type_word: str) -> None:
    ths = parse_address(text).thoroughfares
    assert len(ths) == 1 and ths[0].type_word == type_word


def test_other_abbreviations() -> None:
    p = parse_address("خ آزادی، ت نیکنام، س نگین، ب ۲، پ ۱۲")
    assert p.landmarks == ["تقاطع نیکنام"]
    assert (p.building, p.entrance, p.plate) == ("نگین", "2", "12")


@pytest.mark.parametrize(
    ("text", "fixed"),
    [("حیابان آزادی", "حیابان"), ("ح آزادی", "ح"), ("گوچه ۵", "گوچه"), ("ژلاک ۱۲", "ژلاک"), ("ژ ۱۲", "ژ")],
)
def test_keyboard_slips_are_fixed_and_recorded(text: str, fixed: str) -> None:
    p = parse_address(text)
    assert p.thoroughfares or p.plate
    assert fixed in [c.original for c in p.corrections if c.kind == "keyboard_slip"]


def test_administrative_levels() -> None:
    p = parse_address(
        "استان تهران، شهرستان ری، بخش مرکزی، دهستان غنی‌آباد، روستای قلعه نو، محله بالا، کوچه ۳"
    )
    assert (p.province, p.county, p.district, p.rural_district) == ("تهران", "ری", "مرکزی", "غنی‌آباد")
    assert (p.locality_type, p.locality, p.neighbourhood) == ("روستا", "قلعه نو", "بالا")
    assert p.places == []


def test_a_city_word_inside_a_name_is_not_a_level() -> None:
    p = parse_address("اسلام شهر، خیابان آزادی")
    assert p.places == ["اسلام شهر"]
    assert p.locality is None


def test_plate_unit_and_entrance_values() -> None:
    p = parse_address("پلاک ۱۲ الف، واحد دوازده، ورودی ۲، ساختمان نگین")
    assert (p.plate, p.unit, p.entrance, p.building) == ("12 الف", "12", "2", "نگین")
    assert parse_address("پلاک ۱۲/۳").plate == "12/3"


def test_fillers_and_level_words_without_a_value_are_ignored() -> None:
    p = parse_address("نشانی: ایران، تهران، خیابان، منطقه ۵")
    assert p.places == ["تهران"]
    assert p.ignored == ["نشانی", "ایران", "خیابان", "منطقه 5"]
    assert p.thoroughfares == []


def test_street_named_iran_is_not_a_filler() -> None:
    assert parse_address("خیابان ایران").thoroughfares == [Thoroughfare("خیابان", "ایران")]


def test_to_dict_is_json_ready() -> None:
    d = parse_address(FULL).to_dict()
    assert d["last_thoroughfare"] == "کوچه 12"
    assert d["prev_thoroughfare"] == "خیابان شهید نیکنام"
    assert d["thoroughfares"] == [
        {"type": "خیابان", "name": "آزادی"},
        {"type": "خیابان", "name": "شهید نیکنام"},
        {"type": "کوچه", "name": "12"},
    ]
    assert d["floor"] == 3
    assert d["corrections"] == [Correction("number_word", "دوازدهم", "12").to_dict()]


@pytest.mark.parametrize("text", ["خیابان امام خمینی (ره)", "خیابان امام خمینی ره", "خیابان امام خمینی(ره)"])
def test_honorific_is_not_part_of_the_name(text: str) -> None:
    p = parse_address(text)
    assert p.thoroughfares == [Thoroughfare("خیابان", "امام خمینی")]
    assert p.ignored == ["ره"]


def test_side_after_a_unit_number() -> None:
    assert parse_address("طبقه ۲ واحد ۳ شمالی").unit == "3 شمالی"


@pytest.mark.parametrize("text", ["طبقه ۹۹۹", "طبقه منفی ۵۰"])
def test_impossible_floors_are_ignored(text: str) -> None:
    p = parse_address(text)
    assert p.floor is None
    assert len(p.ignored) == 1


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("خیابان شهید نیکنام", ("خیابان", "شهید نیکنام")),
        ("ک ۱۲", ("کوچه", "12")),
        ("کوچه دوازدهم", ("کوچه", "12")),
        ("بن بست یاس", ("بن‌بست", "یاس")),
        ("۱۶ متری اول", ("", "16 متری 1")),
        ("آزادی", ("", "آزادی")),
        ("", ("", "")),
    ],
)
def test_split_thoroughfare(stored: str, expected: tuple[str, str]) -> None:
    assert split_thoroughfare(stored) == expected


def test_every_module_imports_first() -> None:
    # The registry model imports jinef.model.digits: the text package must not import back.
    for module in ("jinef.model.postcode", "jinef.model.address", "jinef.text.parser"):
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


def test_phone_numbers_are_not_places_plates_or_postcodes() -> None:
    p = parse_address("۰۹۱۲۳۴۵۶۷۸۹ تهران، خیابان آزادی، تلفن: ۰۲۱۶۶۴۴۵۵۶۶")
    assert p.places == ["تهران"]
    assert p.ignored == ["09123456789 (a phone number?)", "تلفن 02166445566"]
    assert p.postcode is None and p.plate is None


def test_national_code_is_not_taken_for_a_postcode() -> None:
    p = parse_address("کد ملی ۱۳۴۵۶۷۸۹۱۵، کدپستی ۱۳۴۵۶۷۸۹۳۳، خیابان آزادی")
    assert p.postcode == "1345678933"
    assert p.ignored == ["کد ملی 1345678915"]


def test_doorbell_number_is_the_unit() -> None:
    p = parse_address("پلاک ۱۲، زنگ دوم")
    assert (p.plate, p.unit) == ("12", "2")


def test_a_level_given_twice_keeps_the_first_and_reports_the_second() -> None:
    p = parse_address("پلاک ۱۲، طبقه ۳، استان تهران، پلاک ۱۴، طبقه ۵، استان البرز")
    assert (p.plate, p.floor, p.province) == ("12", 3, "تهران")
    assert p.ignored == ["پلاک 14", "طبقه 5"]
    assert p.places == ["البرز"]


def test_results_are_independent_of_each_other() -> None:
    # Parts are cached between calls: changing one result must not change the next.
    first = parse_address("خیابان آزادی، پلاک ۱۲")
    first.thoroughfares.append(Thoroughfare("کوچه", "x"))
    first.ignored.append("x")
    first.corrections.append(Correction("x", "x", "x"))
    second = parse_address("خیابان آزادی، پلاک ۱۲")
    assert second.thoroughfares == [Thoroughfare("خیابان", "آزادی")]
    assert second.ignored == [] and second.corrections == []


def test_a_bare_number_part_after_a_thoroughfare_is_the_plate() -> None:
    p = parse_address("تهران، خیابان آزادی، کوچه ۵، ۱۲")
    assert p.plate == "12" and p.places == ["تهران"]
    assert kinds(p, "inferred") == [("12", "پلاک 12")]
    # With no thoroughfare, or a plate already given, a bare number stays a place.
    assert parse_address("تهران، ۱۲").places == ["تهران", "12"]
    assert parse_address("کوچه ۵، پلاک ۳، ۱۲").places == ["12"]


@pytest.mark.parametrize("text, county, locality", [
    ("استان اصفهان، شهرستان خمینی شهر، بخش مرکزی، شهر خمینی شهر، خیابان اصفهان، پلاک ۶", "خمینی شهر", "خمینی شهر"),
    ("شهر مشگین شهر خیابان امام پلاک ۳", None, "مشگین شهر"),
    ("شهرستان تهران شهر تهران خیابان آزادی", "تهران", "تهران"),
])
def test_names_ending_in_a_level_word(text: str, county: str | None, locality: str) -> None:
    # «خمینی شهر»: «شهر» with no name after it ends the name; it does not start a new level.
    p = parse_address(text)
    assert p.county == county and p.locality == locality


def test_building_named_like_a_complex() -> None:
    # After «ساختمان», «مجتمع بیستون» is the building's name, not a thoroughfare of the address.
    p = parse_address("خیابان آزادی، پلاک ۲۰، ساختمان مجتمع بیستون، طبقه ۳، واحد ۶")
    assert p.building == "مجتمع بیستون"
    assert [t.text for t in p.thoroughfares] == ["خیابان آزادی"]
    assert (p.plate, p.floor, p.unit) == ("20", 3, "6")


@pytest.mark.parametrize(("text", "type_word", "name"), [
    ("خیابن شهید بهشتی، پلاک ۵", "خیابان", "شهید بهشتی"),
    ("خیبان آزادی", "خیابان", "آزادی"),
    ("بلوا کشاورز، پلاک ۳", "بلوار", "کشاورز"),
    ("بزرگرا همت", "بزرگراه", "همت"),
])
def test_a_type_word_one_letter_off_starts_a_thoroughfare(text: str, type_word: str, name: str) -> None:
    p = parse_address(text)
    assert p.thoroughfares[0] == Thoroughfare(type_word, name)
    assert kinds(p, "typo")[0][1] == type_word


@pytest.mark.parametrize(("text", "number"), [("کوچه چهاررم", "4"), ("کوچه دوازدم، پلاک ۲", "12"),
                                              ("بن‌بست پانزهم", "15")])
def test_an_ordinal_one_letter_off_names_an_alley(text: str, number: str) -> None:
    p = parse_address(text)
    assert p.last_thoroughfare is not None and p.last_thoroughfare.name == number
    assert kinds(p, "typo")


def test_words_one_letter_from_a_type_word_inside_a_name_are_left_alone() -> None:
    p = parse_address("تهران، خیابان شهید خیابانی، پلاک ۲")
    assert p.thoroughfares == [Thoroughfare("خیابان", "شهید خیابانی")]
    assert not kinds(p, "typo")
    # «کوچک» is one letter from «کوچه»: a short type word is never taken for a typo.
    assert parse_address("خیابان باغ کوچک").thoroughfares == [Thoroughfare("خیابان", "باغ کوچک")]
