"""The geocoder's fast paths give what the plain ones give."""

from __future__ import annotations

import random

import numpy as np
import pytest

import jinef.read.geocode.search as search_module
from jinef.model.address import Address
from jinef.model.digits import ARABIC_DIGITS, LATIN_DIGITS, PERSIAN_DIGITS, to_persian_digits
from jinef.read.geocode import weights as W
from jinef.read.geocode.geocoder import Geocoder, Query
from jinef.read.geocode.search import _Search
from jinef.text.parser import parse_address


def test_lazy_address_is_the_registry_standard_address(geocoder: Geocoder, sample: list[Address]) -> None:
    for a in sample[:40]:
        res = geocoder.geocode(a.standard_address, limit=3)
        best = res.best
        assert best is not None and best.postcode == a.postcode
        assert best.address == a.standard_address
        assert res.to_dict()["candidates"][0]["address"] == a.standard_address


def test_thoroughfare_address_is_the_standard_address_up_to_the_plate(
    geocoder: Geocoder, sample: list[Address]
) -> None:
    a = next(x for x in sample if x.plate and x.last_thoroughfare)
    res = geocoder.geocode(f"{a.locality_type} {a.locality}، {a.last_thoroughfare}", limit=5)
    th = [c for c in res.candidates if c.level == "thoroughfare"]
    assert th and all(c.address and "پلاک" not in c.address for c in th)


def test_streets_of_a_name_in_localities_equal_filtering_them(geocoder: Geocoder) -> None:
    """The postings' binary search per locality finds exactly the rows that filtering all of a key's rows finds."""
    ix = geocoder.index
    posts = ix.thoroughfares
    rng = random.Random(5)
    keys = sorted(posts.keys, key=posts.count)
    checked = 0
    for key in keys[-20:] + rng.sample(keys, 20):  # the commonest names and some others
        rows = posts.of(key)
        locs = sorted({int(ix.th_loc[t]) for t in rows.tolist()})
        for named in (locs[:1], locs[:3], locs[::2], [0], []):
            want = sorted(t for t in rows.tolist() if int(ix.th_loc[t]) in set(named))
            assert sorted(posts.of_within(key, named)) == want
            checked += len(want)
    assert checked > 100


def test_streets_of_a_name_in_a_province(geocoder: Geocoder) -> None:
    ix = geocoder.index
    province = ix.loc_province[0]
    s = _Search(ix, Query(province=province), 5, None, None, None, None)
    assert s.region is not None and not s.named
    for key in ix.thoroughfares.keys[:200]:
        got = s._rows_named(key)
        assert got == [t for t in ix.thoroughfares.of(key).tolist() if ix.loc_province[int(ix.th_loc[t])] == province]


def test_index_views_equal_the_arrays(geocoder: Geocoder) -> None:
    ix = geocoder.index
    for name in ("b_key", "b_u_off", "b_units", "u_postcode", "th_loc", "th_prev", "th_nb"):
        arr, view = getattr(ix, name), getattr(ix, "v_" + name)
        assert view.tolist() == arr.tolist()
    assert np.array_equal(ix.b_key & ((1 << 21) - 1), [ix.plate_code(ix.b_plate(b)) for b in range(len(ix.b_id))])
    for b in range(0, len(ix.b_id), 97):  # a building's record and its field views agree
        rec = ix.building(b)
        assert (rec[0], rec[1], rec[3], rec[4]) == (ix.b_id[b], ix.b_loc[b], ix.b_prev[b], ix.b_last[b])


def test_to_persian_digits_matches_a_translation_table() -> None:
    table = str.maketrans(LATIN_DIGITS + ARABIC_DIGITS, PERSIAN_DIGITS * 2)
    rng = random.Random(3)
    alphabet = LATIN_DIGITS + ARABIC_DIGITS + PERSIAN_DIGITS + "خیابان پلاک، -/"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert to_persian_digits(text) == text.translate(table)


def test_matched_is_formatted_when_read(geocoder: Geocoder, sample: list[Address]) -> None:
    a = next(x for x in sample if x.prev_thoroughfare and x.plate)
    res = geocoder.geocode(f"{a.locality}، {a.prev_thoroughfare}، {a.last_thoroughfare}، پلاک {a.plate}", limit=2)
    best = res.best
    assert best is not None
    m = best.matched
    assert m["last_thoroughfare"].endswith(f"→ {a.last_thoroughfare}")
    assert m["prev_thoroughfare"].endswith(f"→ {a.prev_thoroughfare}")
    assert m["locality"] == f"{a.locality} → {a.locality}"
    assert m["plate"] == a.plate
    assert best.matched is m and all(isinstance(v, str) for v in m.values())  # formatted once, in place
    assert res.to_dict()["candidates"][0]["matched"] == m


def test_building_level_lists_its_units_when_read(geocoder: Geocoder, sample: list[Address]) -> None:
    a = next(x for x in sample if x.plate and x.unit)
    res = geocoder.geocode(f"{a.locality}، {a.last_thoroughfare}، پلاک {a.plate}", limit=3)
    b = next((c for c in res.candidates if c.level == "building"), None)
    if b is not None:
        assert a.postcode in b.unit_postcodes or b.building_id != a.building_id
        assert b.unit_postcodes == res.to_dict()["candidates"][res.candidates.index(b)]["unit_postcodes"]


def test_index_standard_address_equals_the_model_formatter(geocoder: Geocoder) -> None:
    ix = geocoder.index
    for b in range(len(ix.b_id)):
        assert ix.standard_address(b) == ix.address(b).standard_address
        for u in ix.units_of(b):
            assert ix.standard_address(b, u) == ix.address(b, u).standard_address
            assert ix.address(b, u) == ix.table.address(u)


def _queries(sample: list[Address]) -> list[str]:
    """Ways of writing sample addresses that find many buildings: no city, no prev street, typos."""
    out = []
    for a in sample[:60]:
        if not a.plate or not a.last_thoroughfare:
            continue
        unit = f"، واحد {a.unit}" if a.unit else ""
        out += [
            f"{a.last_thoroughfare}، پلاک {a.plate}{unit}",
            f"{a.prev_thoroughfare}، {a.last_thoroughfare}، پلاک {a.plate}",
            f"{a.locality}، {a.last_thoroughfare}، پلاک {a.plate}، طبقه {a.floor or 1}",
            f"استان {a.province}، {a.last_thoroughfare}، {a.prev_thoroughfare}، پلاک {a.plate}",
            f"{a.locality}، {a.last_thoroughfare}، پلاک {a.plate}، ورودی {a.entrance or 2}{unit}",
        ]
    return out


def test_base_scores_equal_the_scalar_scores(geocoder: Geocoder, sample: list[Address]) -> None:
    ix = geocoder.index
    checked = 0
    for text in _queries(sample):
        s = _Search(ix, Query.from_parsed(parse_address(text)), 5, None, None, None, None)
        bs = s.buildings_with_plate()
        if not bs:
            continue
        vec = s._base_scores(np.array(bs, dtype=np.int64))
        for b, v in zip(bs, vec.tolist(), strict=True):
            py = s._area_score(int(ix.b_loc[b]), int(ix.b_nb[b]), {}, [])
            py += s._street_score(int(ix.b_last[b]), int(ix.b_prev[b]), {}, []) + (W.PLATE if s.q.plate else 0.0)
            assert abs(py - v) < 1e-9, text
            checked += 1
    assert checked > 100


def test_pruning_and_street_bounds_change_no_answer(geocoder: Geocoder, sample: list[Address],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring every candidate, and cutting them by building and by street bounds, give the same answers."""
    texts = _queries(sample)
    monkeypatch.setattr(search_module, "PRUNE_ABOVE", 10**9)
    monkeypatch.setattr(search_module, "BOUND_ABOVE", 10**9)
    full = [[c.to_dict() for c in geocoder.geocode(t, limit=k).candidates] for t in texts for k in (1, 5)]
    monkeypatch.setattr(search_module, "PRUNE_ABOVE", 0)
    pruned = [[c.to_dict() for c in geocoder.geocode(t, limit=k).candidates] for t in texts for k in (1, 5)]
    assert pruned == full
    monkeypatch.setattr(search_module, "BOUND_ABOVE", 1)  # every query with two or more streets is bounded
    bounded = [[c.to_dict() for c in geocoder.geocode(t, limit=k).candidates] for t in texts for k in (1, 5)]
    assert bounded == full


def test_pruning_drops_buildings_that_cannot_win(
    geocoder: Geocoder, sample: list[Address], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "PRUNE_ABOVE", 0)
    dropped = 0
    for text in _queries(sample):
        s = _Search(geocoder.index, Query.from_parsed(parse_address(text)), 1, None, None, None, None)
        bs = s.buildings_with_plate()
        kept = s.prune(bs)
        assert set(kept) <= set(bs) and len(kept) >= min(2, len(bs))
        dropped += len(bs) - len(kept)
    assert dropped > 0


def test_exact_scores_equal_what_building_adds(geocoder: Geocoder, sample: list[Address]) -> None:
    checked = entrances = 0
    for a in sample[:80]:
        if not a.plate or not a.last_thoroughfare:
            continue
        for detail in (f"واحد {a.unit}" if a.unit else "", f"طبقه {a.floor}" if a.floor is not None else "",
                       f"طبقه {a.floor}، واحد {a.unit}" if a.unit and a.floor is not None else "",
                       "طبقه ۹، واحد ۱", "واحد ۱", "", f"ورودی {a.entrance or 1}، واحد {a.unit}", "ورودی ۲"):
            s = _Search(geocoder.index,
                        Query.from_parsed(parse_address(f"{a.last_thoroughfare}، پلاک {a.plate}، {detail}")),
                        5, None, None, None, None)
            bs = s.buildings_with_plate()
            if not bs or s.q.building:
                continue
            arr = np.array(bs, dtype=np.int64)
            expected = s._exact_scores(arr).tolist()
            assert [s.building(b).score for b in bs] == pytest.approx(expected, abs=1e-9)
            checked += len(bs)
            entrances += len(bs) if s.entrance_key is not None else 0
    assert checked > 100 and entrances > 20
