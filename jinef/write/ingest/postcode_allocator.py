"""Postcode allocation: routes per area, urban block + serial, rural village + serial.

Route space: the 5-digit routes whose digits avoid 0 and 2 (8^5, less the 8 of one repeated digit).
Each province owns the routes that start with its prefixes (*stems*, from
:mod:`jinef.write.refdata.postcode_prefixes`: Tehran city's counties ``1``, Tabriz ``51``, the rest of East
Azarbaijan ``53``-``55`` …). Inside a province, routes where the dispatch code is followed by a 1 (the
postal company's rule: the digits left of the first 1 are the dispatch code) come first, ascending; routes
with no such 1 only after them. Each county gets a share of its province's routes in proportion to its
units: a county with stems of its own (a large city) takes them first, the others a contiguous slice of the
rest. What no county was given (at least 20 %) is the province's reserve, for counties that outgrow their
share and for growth. A province that has spent its reserve too is refused (:class:`RouteSpaceExhausted`):
routes never cross into another province's prefixes.
Serials leave gaps between buildings so that new units can get codes near their neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import product

from jinef.model.postcode import ROUTE_DIGITS
from jinef.write.ingest.apportion import apportion
from jinef.write.refdata.postcode_prefixes import Prefixes, load_prefixes

RESERVE_SHARE = 0.2
URBAN_SERIALS = 9999  # serial 0001-9999 inside a block
RURAL_SERIALS = 999  # serial 001-999 inside a village
VILLAGES_PER_ROUTE = 100


class RouteSpaceExhausted(RuntimeError):
    """A province needs more routes than its prefixes hold (its share and its reserve are spent)."""


def all_routes() -> list[int]:
    """Every issuable route, ascending."""
    digits = sorted(ROUTE_DIGITS)
    return [int("".join(p)) for p in product(digits, repeat=5) if len(set(p)) > 1]


def has_separator(route: int) -> bool:
    """Whether the route reads as dispatch code, 1, distribution code (Tehran's start with the 1 itself)."""
    return "1" in f"{route:05d}"


def routes_of(stems: tuple[str, ...], routes: list[int]) -> list[int]:
    """The routes that start with one of ``stems``: those with a separating 1 first, each part ascending."""
    mine = [r for r in routes if f"{r:05d}".startswith(stems)]
    return [r for r in mine if has_separator(r)] + [r for r in mine if not has_separator(r)]


class RouteAllocator:
    """Hands out routes county by county, inside each province's prefixes, never the same route twice."""

    def __init__(self, county_units: Mapping[str, int], county_province: Mapping[str, str],
                 prefixes: Prefixes | None = None) -> None:
        table = prefixes or load_prefixes()
        routes = all_routes()
        self._province = dict(county_province)
        self._slices: dict[str, list[int]] = {}
        self._reserve: dict[str, list[int]] = {}
        self._reserve_pos: dict[str, int] = {}
        self._stems: dict[str, tuple[str, ...]] = {}
        for prov in sorted(set(county_province.values())):
            if prov not in table.provinces:
                raise ValueError(f"province {prov} has no postcode prefixes in the table")
            self._stems[prov] = table.provinces[prov]
            self._plan_province(prov, routes, table, county_units)
        self._pos: dict[str, int] = dict.fromkeys(self._slices, 0)

    def _plan_province(self, prov: str, routes: list[int], table: Prefixes, county_units: Mapping[str, int]) -> None:
        pool = routes_of(table.provinces[prov], routes)
        counties = sorted(c for c in county_units if self._province[c] == prov)
        usable = int(len(pool) * (1 - RESERVE_SHARE))
        # +1 so that every county gets at least a route.
        shares = [s + 1 for s in apportion(max(usable - len(counties), 0), [county_units[c] for c in counties])]
        own = {c: routes_of(table.counties[c], routes) for c in counties if c in table.counties}
        owned = {r for rs in own.values() for r in rs}
        # Large cities take their own stems first (counties sharing a stem, as Tehran, Rey and Shemiranat share
        # 1, split it in code order); the others, and a large city beyond its stems, a slice of the rest.
        mine: dict[str, list[int]] = {}
        claimed: set[int] = set()
        for c, share in zip(counties, shares, strict=True):
            mine[c] = [r for r in own.get(c, []) if r not in claimed][:share]
            claimed.update(mine[c])
        # The rest of the province, then what large cities' own stems hold beyond their share.
        rest = [r for r in pool if r not in owned] + [r for r in pool if r in owned and r not in claimed]
        at = 0
        for c, share in zip(counties, shares, strict=True):
            extra = share - len(mine[c])
            self._slices[c] = mine[c] + rest[at : at + extra]
            at += extra
        self._reserve[prov] = rest[at:]
        self._reserve_pos[prov] = 0

    def take_many(self, county: str, n: int) -> list[int]:
        """The next ``n`` unused routes of this county."""
        return [self.take(county) for _ in range(n)]

    def take(self, county: str) -> int:
        """The next unused route of this county (from its province's reserve once its share is spent)."""
        pos = self._pos[county]
        sl = self._slices[county]
        if pos < len(sl):
            self._pos[county] = pos + 1
            return sl[pos]
        prov = self._province[county]
        reserve, at = self._reserve[prov], self._reserve_pos[prov]
        if at >= len(reserve):
            raise RouteSpaceExhausted(
                f"province {prov} has used every route of its prefixes {', '.join(self._stems[prov])}: "
                "too many areas for its share of the 5-digit routes")
        self._reserve_pos[prov] = at + 1
        return reserve[at]


def urban_routes_needed(units: int) -> int:
    """Routes that surely suffice for an urban area: a unit uses one serial, a building a gap of at most 4."""
    return math.ceil(units * 5 / (10 * (URBAN_SERIALS - 100))) + 1


def rural_routes_needed(villages: int) -> int:
    """Routes for a rural district's villages (100 villages a route)."""
    return math.ceil(villages / VILLAGES_PER_ROUTE) if villages else 0


class UrbanSequence:
    """Postcodes of one urban area: route, block 0-9, serial 0001-9999, gaps between buildings."""

    def __init__(self, routes: list[int]) -> None:
        self._routes = list(routes)
        self._route = self._next_route()
        self._block = 0
        self._serial = 0

    def _next_route(self) -> int:
        if not self._routes:
            raise RuntimeError("urban area ran out of its planned routes")
        return self._routes.pop(0)

    def first(self, n_units: int, gap: int) -> int:
        """The first of ``n_units`` consecutive codes for one building, after ``gap`` unused serials."""
        serial = self._serial + gap
        if serial + n_units > URBAN_SERIALS:
            serial = 0
            self._block += 1
            if self._block > 9:
                self._route = self._next_route()
                self._block = 0
        self._serial = serial + n_units
        return self._route * 100000 + self._block * 10000 + serial + 1


class RuralSequence:
    """Postcodes of the villages of one rural district: route, village 00-99, serial 001-999."""

    def __init__(self, routes: list[int]) -> None:
        self._routes = list(routes)
        self._route = 0
        self._village = VILLAGES_PER_ROUTE - 1
        self._serial = 0

    def next_village(self) -> None:
        """Start the next village (a new route after 100 villages)."""
        self._village += 1
        if self._village >= VILLAGES_PER_ROUTE:
            if not self._routes:
                raise RuntimeError("rural district ran out of its planned routes")
            self._route = self._routes.pop(0)
            self._village = 0
        self._serial = 0

    def first(self, n_units: int, gap: int) -> int:
        """The first code of a house's units in the current village (gaps of at most 2: villages stay in 3 digits)."""
        if gap > 2:
            gap = 2
        serial = self._serial + gap
        if serial + n_units > RURAL_SERIALS:
            raise RuntimeError("village too large for 3-digit serials")
        self._serial = serial + n_units
        return self._route * 100000 + self._village * 1000 + serial + 1
