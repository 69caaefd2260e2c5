"""The overlay of changes on the read side: applied in order, and searched by what a query names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jinef.model.address import Address
from jinef.read.geocode.changed_units import changed_candidates
from jinef.read.geocode.results import Query
from jinef.read.registry.overlay import FeedGap, Overlay

BASE = Address("1111500005", "مرکزی", "اراک", "مرکزی", "", "شهر", "اراک", "یاسمین", "خیابان قاسمی",
               "خیابان منوچهری", "8", "", "", 1, "1", "residential", 34.08, 49.68, building_id=7)


def _change(seq: int, a: Address) -> dict[str, object]:
    return {"seq": seq, "address": a.as_dict()}


def test_changes_apply_in_order_and_a_gap_is_refused() -> None:
    o = Overlay(base_seq=10)
    other = replace(BASE, postcode="1111500006", last_thoroughfare="کوچه نیلوفر", building_id=8)
    assert o.apply([_change(11, BASE), _change(12, other)]) == 12
    assert o.apply([_change(12, other)]) == 12  # already applied: skipped
    with pytest.raises(FeedGap):
        o.apply([_change(14, BASE)])
    moved = replace(BASE, building_id=8)
    o.apply([_change(13, moved)])
    assert set(o.buildings[8]) == {1111500005, 1111500006} and not o.buildings[7]


def test_a_query_scores_only_the_changed_buildings_it_names() -> None:
    o = Overlay()
    streets = ["خیابان منوچهری", "کوچه نیلوفر", "بلوار ارم"]
    o.apply([_change(i + 1, replace(BASE, postcode=f"11115000{10 + i}", last_thoroughfare=s, building_id=20 + i))
             for i, s in enumerate(streets)])
    found = changed_candidates(Query(locality="اراک", thoroughfares=[("کوچه", "نیلوفر")], plate="8"), o)
    assert [c.building_id for c in found] == [21]
    assert found[0].postcode == "1111500011" and found[0].level == "unit"
    by_postcode = changed_candidates(Query(postcode="1111500012", thoroughfares=[("کوچه", "ناشناس")]), o)
    assert [c.building_id for c in by_postcode] == [22]
    assert {c.building_id for c in changed_candidates(Query(locality="اراک"), o)} == {20, 21, 22}
