"""Postcode allocation: routes per area, urban block + serial, rural village + serial.

Route space: the 5-digit routes whose digits avoid 0 and 2 (8^5, less the 8 of one repeated digit).
Each province gets a contiguous slice in proportion to its units, each county a slice of its
province's; a reserve at the end serves counties that outgrow their slice and future growth.
Serials leave gaps between buildings so that new units can get codes near their neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import product

from jinef.model.postcode import ROUTE_DIGITS
from jinef.write.ingest.apportion import apportion

RESERVE_SHARE = 0.2
URBAN_SERIALS = 9999  # serial 0001-9999 inside a block
RURAL_SERIALS = 999  # serial 001-999 inside a village
VILLAGES_PER_ROUTE = 100


def all_routes() -> list[int]:
    """Every issuable route, ascending."""
    digits = sorted(ROUTE_DIGITS)
    return [int("".join(p)) for p in product(digits, repeat=5) if len(set(p)) > 1]


class RouteAllocator:
    """Hands out routes county by county, never the same route twice."""

    def __init__(self, county_units: Mapping[str, int], county_province: Mapping[str, str]) -> None:
        routes = all_routes()
        usable = int(len(routes) * (1 - RESERVE_SHARE))
        self._reserve = routes[usable:]
        self._reserve_pos = 0
        provinces = sorted(set(county_province.values()))
        prov_units = [sum(u for c, u in county_units.items() if county_province[c] == p) for p in provinces]
        # +1 so that every province and county gets at least a route.
        prov_sizes = apportion(usable - len(provinces), prov_units)
        self._slices: dict[str, list[int]] = {}
        start = 0
        for p, size in zip(provinces, prov_sizes, strict=True):
            size += 1
            counties = sorted(c for c in county_units if county_province[c] == p)
            sizes = apportion(max(size - len(counties), 0), [county_units[c] for c in counties])
            cstart = start
            for c, cs in zip(counties, sizes, strict=True):
                cs += 1 if size >= len(counties) else 0
                self._slices[c] = routes[cstart : cstart + cs]
                cstart += cs
            start += size
        self._pos: dict[str, int] = dict.fromkeys(self._slices, 0)

    def take_many(self, county: str, n: int) -> list[int]:
        """The next ``n`` unused routes of this county."""
        return [self.take(county) for _ in range(n)]

    def take(self, county: str) -> int:
        """The next unused route of this county (from the reserve once its slice is spent)."""
        pos = self._pos[county]
        sl = self._slices[county]
        if pos < len(sl):
            self._pos[county] = pos + 1
            return sl[pos]
        if self._reserve_pos >= len(self._reserve):
            raise RuntimeError("route space exhausted: too many units for 5-digit routes")
        r = self._reserve[self._reserve_pos]
        self._reserve_pos += 1
        return r


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
