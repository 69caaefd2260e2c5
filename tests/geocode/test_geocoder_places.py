"""What a national registry asks of the geocoder: localities named alone, same-named localities and streets,
typos in the words an address is read by, and no cap that drops the right answer."""

from __future__ import annotations

from collections import defaultdict

import pytest

import jinef.read.geocode.search as search_module
from jinef.model.address import Address
from jinef.model.digits import to_persian_digits
from jinef.read.geocode.geocoder import Geocoder
from jinef.read.registry.registry import Registry
from jinef.text.keys import match_key
from jinef.write.compile.geocoder import place_keys


def _unit_line(a: Address) -> str:
    parts = [p for p in (a.prev_thoroughfare, a.last_thoroughfare) if p]
    parts += [f"پلاک {a.plate}"] if a.plate else []
    parts += [f"طبقه {a.floor}"] if a.floor is not None else []
    parts += [f"واحد {a.unit}"] if a.unit else []
    return "، ".join(parts)


def test_a_town_named_without_the_word_city(geocoder: Geocoder, sample: list[Address]) -> None:
    towns = [a for a in sample if a.locality_type == "شهر" and a.plate and a.locality != a.county]
    assert len(towns) >= 20
    right = 0
    for a in towns[:40]:
        res = geocoder.geocode(f"{a.locality}، {_unit_line(a)}")
        right += res.best is not None and res.best.postcode == a.postcode
        assert res.best is not None and "locality" in res.best.matched, a.locality  # never ignored
    assert right >= 0.95 * min(40, len(towns))


def test_the_locality_is_read_when_written_twice_with_its_province(geocoder: Geocoder, registry: Registry) -> None:
    """«تهران تهران محله …»: no separator between province and city; the city is still found."""
    a = next(x for x in registry.addresses() if x.locality == "تهران" and x.neighbourhood and x.plate and x.unit)
    text = f"تهران تهران محله {a.neighbourhood} {_unit_line(a).replace('، ', ' ')}"
    best = geocoder.geocode(text).best
    assert best is not None and best.postcode == a.postcode
    assert best.matched["locality"].endswith("تهران")


def test_same_named_localities_told_apart_by_their_county(geocoder: Geocoder, registry: Registry) -> None:
    by_name: dict[str, dict[str, Address]] = defaultdict(dict)
    for a in registry.addresses():
        if a.plate and a.last_thoroughfare:
            by_name[a.locality].setdefault(a.county, a)
    twins = {n: c for n, c in by_name.items() if len(c) >= 2}
    assert twins, "the small registry has no two localities of one name in two counties"
    checked = 0
    for counties in list(twins.values())[:30]:
        for county, a in counties.items():
            res = geocoder.geocode(f"شهرستان {county}، {a.locality_type} {a.locality}، {_unit_line(a)}")
            assert res.best is not None and res.best.postcode == a.postcode, (county, a.locality)
            assert res.best.matched["county"] == county
            checked += 1
    assert checked >= 4


def test_same_named_streets_in_one_city_told_apart_by_the_street_before(geocoder: Geocoder,
                                                                         registry: Registry) -> None:
    seen: dict[tuple[str, str, str, str], dict[str, Address]] = defaultdict(dict)
    for a in registry.addresses():
        if a.prev_thoroughfare and a.plate and not a.unit:
            seen[(a.county, a.locality, a.last_thoroughfare, a.plate)].setdefault(a.prev_thoroughfare, a)
    pairs = [v for v in seen.values() if len(v) >= 2]
    assert pairs, "no street name used twice in one locality with the same plate"
    for by_prev in pairs[:20]:
        for a in by_prev.values():
            best = geocoder.geocode(f"{a.locality_type} {a.locality}، {_unit_line(a)}").best
            assert best is not None and best.postcode == a.postcode


@pytest.mark.parametrize(("typo", "right"), [("خیابن", "خیابان"), ("کوچ", None)])
def test_a_mistyped_type_word_still_finds_the_street(geocoder: Geocoder, sample: list[Address], typo: str,
                                                    right: str | None) -> None:
    a = next(x for x in sample if x.last_thoroughfare.startswith("خیابان ") and x.plate and not x.prev_thoroughfare
             and not x.unit)
    written = a.last_thoroughfare.replace("خیابان", typo, 1)
    res = geocoder.geocode(f"{a.locality_type} {a.locality}، {written}، پلاک {a.plate}")
    if right is None:  # «کوچ» is four letters: too short to be read as a typo of anything
        assert not any(c["kind"] == "typo" and c["original"] == typo for c in res.corrections)
        return
    assert res.best is not None and res.best.postcode == a.postcode
    assert {"kind": "typo", "original": typo, "result": right} in res.corrections


def test_an_ordinal_one_letter_off(geocoder: Geocoder, registry: Registry) -> None:
    """«کوچه چهاررم» is alley four, written as an ordinal with a letter doubled (and «کوچه ۴» is «کوچه چهارم»)."""
    ordinals = {4: "چهارم", 11: "یازدهم", 12: "دوازدهم", 13: "سیزدهم", 14: "چهاردهم", 15: "پانزدهم"}
    found = [x for x in registry.addresses() if x.last_thoroughfare.startswith("کوچه ") and x.plate and not x.unit
             and match_key(x.last_thoroughfare.split(" ", 1)[1]) in {str(n) for n in ordinals}][:10]
    assert found, "no alley four or eleven to fifteen in the small registry"
    for a in found:
        word = ordinals[int(match_key(a.last_thoroughfare.split(" ", 1)[1]))]
        typo = word[:3] + word[2:]  # a letter doubled
        text = f"{a.locality_type} {a.locality}، {a.prev_thoroughfare}، کوچه {typo}، پلاک {to_persian_digits(a.plate)}"
        best = geocoder.geocode(text).best
        assert best is not None and best.postcode == a.postcode, text


def test_a_common_street_name_in_a_big_city_finds_the_unit(geocoder: Geocoder, registry: Registry,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The street name used most often in one locality («کوچه ۲» in a big city): the street bounds cut the search
    among its many streets, never the right one."""
    ix = geocoder.index
    per: dict[tuple[int, str], int] = defaultdict(int)
    for key in ix.thoroughfares.keys:
        for t in ix.thoroughfares.of(key).tolist():
            per[(int(ix.th_loc[t]), key)] += 1
    (loc, key), count = max(per.items(), key=lambda kv: kv[1])
    assert count >= 10
    monkeypatch.setattr(search_module, "BOUND_ABOVE", 2)
    found = [a for a in registry.addresses() if a.locality == ix.loc_name[loc] and a.county == ix.loc_county[loc]
             and a.prev_thoroughfare and a.plate and match_key(a.last_thoroughfare.split(" ", 1)[-1]) == key]
    assert len(found) >= 5
    for a in found[:25]:
        text = f"{a.locality_type} {a.locality}، {_unit_line(a)}"
        best = geocoder.geocode(text).best
        assert best is not None and best.postcode == a.postcode, text


def test_a_named_street_that_matches_nothing_lowers_confidence(geocoder: Geocoder, sample: list[Address]) -> None:
    a = next(x for x in sample if x.locality_type == "شهر" and x.plate)
    known = geocoder.geocode(f"شهر {a.locality}")
    assert known.best is not None and known.best.level == "locality" and not known.best.conflicts
    res = geocoder.geocode(f"شهر {a.locality}، خیابان زززژژژ، پلاک {a.plate}")
    assert res.best is not None and "thoroughfare_unknown" in res.best.conflicts
    assert res.best.confidence <= 0.6


def test_a_main_street_with_no_buildings_of_its_own_is_placed_and_written(geocoder: Geocoder,
                                                                        sample: list[Address]) -> None:
    """A main street whose units all stand on the alleys off it: answered with a point near those alleys'
    buildings, in their neighbourhood, and its standard address (not an empty text and no point)."""
    ix = geocoder.index
    checked = 0
    for a in sample:
        if not a.prev_thoroughfare or not a.neighbourhood or a.locality_type != "شهر":
            continue
        res = geocoder.geocode(f"شهر {a.locality}، محله {a.neighbourhood}، {a.prev_thoroughfare}")
        best = res.best
        assert best is not None
        if best.level != "thoroughfare" or ix.th_b_off[best.ref_t + 1] > ix.th_b_off[best.ref_t]:
            continue  # a street with buildings of its own: placed by them, as before
        assert best.lat is not None and best.lon is not None
        assert abs(best.lat - a.lat) < 0.05 and abs(best.lon - a.lon) < 0.05  # a few km: the same part of town
        assert best.address.endswith(to_persian_digits(a.prev_thoroughfare)), best.address
        assert f"شهر {a.locality}" in best.address and f"محله {to_persian_digits(a.neighbourhood)}" in best.address
        assert "neighbourhood" in best.matched
        checked += 1
        if checked >= 10:
            break
    assert checked >= 3


def test_a_place_joined_by_a_dash_is_found_by_either_side() -> None:
    # Tehran's neighbourhoods list two joined areas as one («الهیه – فرشته»); people type either, and a typed dash
    # separates an address's parts, so each side is a key of the place (as a name in brackets is).
    keys = place_keys("الهیه – فرشته")
    assert keys[0] == match_key("الهیه – فرشته")
    assert {match_key("الهیه"), match_key("فرشته")} <= set(keys)
    assert place_keys("خداجو(خراجو)") == [match_key("خداجو(خراجو)"), match_key("خداجو"), match_key("خراجو")]
    assert place_keys("شهرک غرب") == [match_key("شهرک غرب")]
