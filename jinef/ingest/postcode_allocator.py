"""Postcode allocation: routes per area, urban block + serial, rural village + serial.

Route space: the 5-digit routes whose digits avoid 0 and 2 (8^5, less the 8 of one repeated digit).
Each province gets a contiguous slice in proportion to its units, each county a slice of its
province's; a reserve at the end serves counties that outgrow their slice and future growth.
Serials leave gaps between buildings so that new units can get codes near their neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product

from jinef.ingest.apportion import apportion
from jinef.registry.postcode import ROUTE_DIGITS

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


class UrbanSequence:
    """Postcodes of one urban area: route, block 0-9, serial 0001-9999, gaps between buildings."""

    def __init__(self, allocator: RouteAllocator, county: str) -> None:
        self._alloc = allocator
        self._county = county
        self._route = allocator.take(county)
        self._block = 0
        self._serial = 0

    def building(self, n_units: int, gap: int) -> list[int]:
        """Consecutive codes for one building's units, after a gap of ``gap`` unused serials."""
        if self._serial + gap + n_units > URBAN_SERIALS:
            self._block += 1
            self._serial = 0
            if self._block > 9:
                self._route = self._alloc.take(self._county)
                self._block = 0
        else:
            self._serial += gap
        base = self._route * 100000 + self._block * 10000
        first = self._serial + 1
        self._serial += n_units
        return [base + s for s in range(first, first + n_units)]


class RuralSequence:
    """Postcodes of the villages of one rural district: route, village 00-99, serial 001-999."""

    def __init__(self, allocator: RouteAllocator, county: str) -> None:
        self._alloc = allocator
        self._county = county
        self._route = allocator.take(county)
        self._village = -1
        self._serial = 0

    def next_village(self) -> None:
        """Start the next village (a new route after 100 villages)."""
        self._village += 1
        if self._village >= VILLAGES_PER_ROUTE:
            self._route = self._alloc.take(self._county)
            self._village = 0
        self._serial = 0

    def building(self, n_units: int, gap: int) -> list[int]:
        """Codes for one house's units inside the current village."""
        if self._serial + gap + n_units > RURAL_SERIALS:
            gap = 0
            if self._serial + n_units > RURAL_SERIALS:
                raise RuntimeError("village too large for 3-digit serials")
        self._serial += gap
        base = self._route * 100000 + self._village * 1000
        first = self._serial + 1
        self._serial += n_units
        return [base + s for s in range(first, first + n_units)]
