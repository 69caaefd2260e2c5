"""The geocoder against the real small registry: exact, noisy, partial, conflicting and junk inputs."""

from __future__ import annotations

from collections import Counter

from jinef.model.address import Address
from jinef.model.digits import to_latin_digits
from jinef.read.geocode.geocoder import Geocoder


def _multi_unit(sample: list[Address], geocoder: Geocoder) -> Address:
    ix = geocoder.index
    for a in sorted(sample, key=lambda a: not a.prev_thoroughfare):
        if a.floor is not None and a.floor > 0 and not a.entrance:
            b = int((ix.b_id == a.building_id).nonzero()[0][0])
            if ix.unit_count(b) >= 3:
                return a
    raise AssertionError("no multi-unit building in the sample")


def test_exact_standard_address_gives_the_unit(geocoder: Geocoder, sample: list[Address]) -> None:
    hits = Counter()
    for a in sample[:120]:
        res = geocoder.geocode(a.standard_address)
        assert res.best is not None
        hits[res.best.postcode == a.postcode and res.best.level == "unit"] += 1
    assert hits[True] / sum(hits.values()) >= 0.97


def test_result_fields(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    res = geocoder.geocode(a.standard_address)
    best = res.best
    assert best is not None and best.postcode == a.postcode
    assert 0.0 <= best.confidence <= 1.0
    assert best.lat is not None and abs(best.lat - (a.lat or 0)) < 1e-6
    assert "last_thoroughfare" in best.matched and "plate" in best.matched
    d = res.to_dict()
    assert d["level"] == "unit" and d["candidates"][0]["postcode"] == a.postcode


def test_abbreviations_and_number_words(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    text = f"{a.locality} {a.prev_thoroughfare.replace('خیابان', 'خ')} {a.last_thoroughfare.replace('کوچه', 'ک')} " \
           f"پ {a.plate} ط {a.floor} واحد {a.unit}"
    res = geocoder.geocode(text)
    assert res.best is not None and res.best.postcode == a.postcode
    assert any(c["kind"] == "abbreviation" for c in res.corrections)
    # A number word for the unit.
    res2 = geocoder.geocode(a.standard_address.replace(f"واحد {to_latin_digits(a.unit)}", "واحد " + a.unit))
    assert res2.best is not None and res2.best.postcode == a.postcode


def test_typo_in_a_long_name_is_corrected(geocoder: Geocoder, sample: list[Address]) -> None:
    for a in sample:
        name = a.last_thoroughfare.split(" ", 1)[-1]
        if len(name) >= 6 and not any(ch.isdigit() for ch in to_latin_digits(name)) and a.floor is None:
            typo = name[:2] + name[3:]  # one letter dropped
            res = geocoder.geocode(a.standard_address.replace(name, typo))
            assert res.best is not None and res.best.postcode == a.postcode
            assert any(c["kind"] == "typo" for c in res.corrections)
            return
    raise AssertionError("no long street name in the sample")


def test_building_without_unit_answers_at_building_level(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    text = a.standard_address.split("، طبقه")[0]
    res = geocoder.geocode(text)
    best = res.best
    assert best is not None and best.level == "building" and best.postcode is None
    assert a.postcode in best.unit_postcodes and len(best.unit_postcodes) >= 3
    assert best.lat is not None


def test_conflicting_postcode_is_flagged(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    other = next(b for b in sample if b.locality != a.locality)
    res = geocoder.geocode(f"{a.standard_address} کد پستی {other.postcode}")
    assert res.best is not None
    conflicted = [c for c in res.candidates if c.conflicts]
    assert conflicted, "the disagreement must be reported"
    assert res.best.confidence < 0.9


def test_matching_postcode_confirms(geocoder: Geocoder, sample: list[Address]) -> None:
    a = sample[3]
    res = geocoder.geocode(f"{a.standard_address}، کدپستی {a.postcode}")
    assert res.best is not None and res.best.postcode == a.postcode and not res.best.conflicts


def test_filters_and_location_bias(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    street = a.last_thoroughfare
    res = geocoder.geocode(f"{street} پلاک {a.plate}", limit=50, province=a.province)
    assert res.candidates and all(a.province in c.address for c in res.candidates)
    near = geocoder.geocode(f"{street} پلاک {a.plate}", limit=5, near=(a.lat or 0.0, a.lon or 0.0))
    assert near.best is not None and near.best.building_id == a.building_id


def test_structured_input(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    fields = {"province": a.province, "locality": a.locality, "neighbourhood": a.neighbourhood,
              "streets": [a.prev_thoroughfare, a.last_thoroughfare], "plate": a.plate, "floor": a.floor,
              "unit": a.unit}
    res = geocoder.geocode_structured(fields)
    assert res.best is not None and res.best.postcode == a.postcode and res.best.level == "unit"


def test_missing_plate_gives_thoroughfare_level(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    res = geocoder.geocode(f"{a.locality}، {a.neighbourhood}، {a.prev_thoroughfare}، {a.last_thoroughfare}")
    assert res.level == "thoroughfare"
    assert res.best is not None and res.best.postcode is None


def test_locality_only(geocoder: Geocoder, sample: list[Address]) -> None:
    a = _multi_unit(sample, geocoder)
    res = geocoder.geocode(f"شهر {a.locality}")
    assert res.level == "locality"


def test_garbage_gives_none_with_a_reason(geocoder: Geocoder) -> None:
    for junk in ["", "   ", "hello world", "x" * 100_000, "\x00\x01\x02\x03\x04binary", "ضصثقفغعهخحجچ", "!!!"]:
        res = geocoder.geocode(junk)
        assert res.level == "none" or (res.best is not None and res.best.confidence < 0.5), junk
        if res.level == "none":
            assert res.reason
