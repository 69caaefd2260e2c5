"""Postcode routes follow Iran's province prefixes (docs/postcode_prefixes.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jinef.model import postcode as pc
from jinef.read.registry.registry import Registry
from jinef.text.letters import name_key
from jinef.write.ingest.apportion import apportion
from jinef.write.ingest.planner import _county_weights
from jinef.write.ingest.postcode_allocator import RESERVE_SHARE, RouteAllocator, RouteSpaceExhausted, routes_of
from jinef.write.refdata.divisions import Divisions
from jinef.write.refdata.postcode_prefixes import load_prefixes, parse_prefixes

# Routes the planner takes per province for a 30,000,000-unit registry (seed 1; measured with Planner.run, which
# takes ~7 s: too slow for a unit test). They hardly depend on the units: most are the two routes of each
# neighbourhood, and neighbourhoods follow the census population, not the units.
ROUTES_AT_30M = {
    "00": 234, "01": 429, "02": 492, "03": 643, "04": 466, "05": 311, "06": 679, "07": 850, "08": 510, "09": 808,
    "10": 764, "11": 471, "12": 266, "13": 289, "14": 193, "15": 289, "16": 142, "17": 133, "18": 206, "19": 167,
    "20": 121, "21": 183, "22": 293, "23": 1801, "24": 234, "25": 131, "26": 210, "27": 274, "28": 155, "29": 167,
    "30": 365,
}


def test_table_names_match_the_divisions(divisions: Divisions) -> None:
    table = load_prefixes()
    assert set(table.provinces) == set(divisions.provinces)
    for code in table.provinces:
        assert name_key(table.names[code]) == name_key(divisions.provinces[code].name), code
    for code in table.counties:
        assert name_key(table.names[code]) == name_key(divisions.counties[code].name), code


def test_national_allocation_holds_30m_units_inside_the_prefixes(divisions: Divisions) -> None:
    weights = _county_weights(divisions)
    codes = sorted(divisions.counties)
    units = dict(zip(codes, apportion(30_000_000, [weights[c] for c in codes]), strict=True))
    province = {c: divisions.counties[c].province_code for c in codes}
    alloc = RouteAllocator(units, province)
    table = load_prefixes()
    seen: set[int] = set()
    for prov, stems in table.provinces.items():
        counties = [c for c in codes if province[c] == prov]
        given = [r for c in counties for r in alloc._slices[c]] + alloc._reserve[prov]
        assert all(f"{r:05d}".startswith(stems) for r in given), prov
        assert not seen.intersection(given) and len(set(given)) == len(given), prov
        seen.update(given)
        # Every route of its prefixes is the province's; a fifth at least is kept back; what the planner takes fits.
        assert len(given) == len(routes_of(stems, sorted(seen | set(given))))
        assert len(alloc._reserve[prov]) >= int(len(given) * RESERVE_SHARE) - 1, prov
        assert len(given) >= ROUTES_AT_30M[prov] * 1.2, prov
    assert all(pc.FORBIDDEN_ROUTE_DIGITS.isdisjoint(f"{r:05d}") for r in seen)
    # Tehran, Rey and Shemiranat: dispatch code 1; a large city starts with its own stem (Tabriz 51, Urmia 571).
    for county in ("2301", "2303", "2304"):
        assert all(str(r).startswith("1") for r in alloc._slices[county])
    assert str(alloc._slices["0303"][0]).startswith("51") and str(alloc._slices["0401"][0]).startswith("571")


def test_generated_postcodes_follow_the_prefixes(small_registry: Path, divisions: Divisions) -> None:
    table = load_prefixes()
    prov_code = {name_key(p.name): code for code, p in divisions.provinces.items()}
    county_code = {(c.province_code, name_key(c.name)): code for code, c in divisions.counties.items()}
    checked = 0
    with Registry.open(small_registry) as reg:
        for a in reg.addresses():
            prov = prov_code[name_key(a.province)]
            assert a.postcode.startswith(table.provinces[prov]), (a.postcode, a.province)
            if county_code[prov, name_key(a.county)] in ("2301", "2303", "2304"):
                assert a.postcode.startswith("1"), (a.postcode, a.county)
            elif prov != "23":  # Tehran's other counties run on into 1 once 33 is spent (see the docs page)
                assert not a.postcode.startswith("1"), (a.postcode, a.county)
            checked += 1
    assert checked


def test_a_province_that_outgrows_its_prefixes_is_refused() -> None:
    table = parse_prefixes({"provinces": {"01": {"stems": ["99"]}, "02": {"stems": ["11"]}},
                            "counties": {"0101": {"stems": ["991"]}}})
    alloc = RouteAllocator({"0101": 900, "0102": 100, "0201": 5}, {"0101": "01", "0102": "01", "0201": "02"}, table)
    own = routes_of(("99",), sorted(int(f"99{i:03d}") for i in range(1000)
                                    if pc.FORBIDDEN_ROUTE_DIGITS.isdisjoint(f"{i:03d}") and i != 999))
    assert alloc.take("0101") == 99111  # its own stem first
    got = [99111, *alloc.take_many("0102", len(alloc._slices["0102"]))]
    with pytest.raises(RouteSpaceExhausted, match=r"province 01 .* 99"):
        while True:  # the large county's share, then the province's reserve, then a refusal
            got.append(alloc.take("0101"))
    assert sorted(got) == sorted(own)
    assert str(alloc.take("0201")).startswith("11")  # never into another province's prefixes


def test_the_table_refuses_overlapping_or_stray_stems() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        parse_prefixes({"provinces": {"01": {"stems": ["5"]}, "02": {"stems": ["51"]}}})
    with pytest.raises(ValueError, match="not inside"):
        parse_prefixes({"provinces": {"01": {"stems": ["5"]}}, "counties": {"0101": {"stems": ["61"]}}})
    with pytest.raises(ValueError, match="without 0 or 2"):
        parse_prefixes({"provinces": {"01": {"stems": ["52"]}}})
