"""New postcodes for new units, next to their neighbours' and by the national rules.

A postcode is route (5 digits) + delivery point (5). In a city the delivery point is a block digit and a
4-digit serial; in a village two digits name the village and 3 the serial (:mod:`jinef.model.postcode`).
A new unit takes the route and block (or village) of its neighbour — the unit's own building, else the
nearest building on the same street, else the nearest in the same locality — and the first free serials
after the neighbour's, which the generator and the postal company leave gaps for. Every postcode ever
issued stays in ``units`` (a retired one with status ``retired``) or, after a replacing build or import, in
``retired_postcodes`` (:mod:`jinef.write.store.retired`), so "free" means never issued: a retired postcode is
never given again. The caller holds the edit lock (:mod:`jinef.write.edit.session`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, islice

from jinef.common.messages import message
from jinef.model.address import LocalityType
from jinef.model.postcode import is_valid
from jinef.write.edit.errors import EditError
from jinef.write.edit.session import EditSession

URBAN_POINT = 10_000  # block digit × 10 000 + serial 0001-9999
RURAL_POINT = 1_000  # village × 1 000 + serial 001-999


@dataclass(frozen=True, slots=True)
class Neighbour:
    """The building a new unit's postcode is placed next to, and how its locality numbers postcodes."""

    building_id: int
    urban: bool


def neighbour_of(s: EditSession, locality_id: int, locality_type: str, thoroughfare_id: int | None,
                 lat: float | None, lon: float | None, exclude: int | None = None) -> Neighbour:
    """The nearest postcoded building on the same street, else in the same locality."""
    urban = locality_type == LocalityType.CITY.value
    placed = lat is not None and lon is not None
    near = "(b.lat - ?) * (b.lat - ?) + (b.lon - ?) * (b.lon - ?), " if placed else ""
    args: list[object] = [lat, lat, lon, lon] if placed else []
    postcoded = "EXISTS (SELECT 1 FROM units u WHERE u.building_id = b.id)"
    for where, key in (("b.last_thoroughfare_id = ?", thoroughfare_id), ("b.locality_id = ?", locality_id)):
        if key is None:
            continue
        rows = s.rows(f"SELECT b.id FROM buildings b WHERE {where} AND b.id != ? AND {postcoded} "
                      f"ORDER BY {near}b.id LIMIT 1", [key, exclude if exclude is not None else -1, *args])
        if rows:
            return Neighbour(int(rows[0][0]), urban)
    raise EditError("no_neighbour", "locality", message("edit.locality_no_route"))


def allocate(s: EditSession, near: Neighbour, n: int) -> list[int]:
    """``n`` never-issued postcodes in the neighbour's route and block (or village), after its serials."""
    if n <= 0:
        return []
    point = URBAN_POINT if near.urban else RURAL_POINT
    own = [int(r[0]) for r in s.rows("SELECT postcode FROM units WHERE building_id = ?", [near.building_id])]
    if not own:
        raise EditError("no_neighbour", "building", message("edit.neighbour_no_postcode"))
    anchor = max(own)
    prefixes = [anchor // point]
    if near.urban:  # the other blocks of the same route, nearest first
        route, block = divmod(prefixes[0], 10)
        prefixes += [route * 10 + b for b in sorted(range(10), key=lambda b: (abs(b - block), b)) if b != block]
    for prefix in prefixes:
        lo = prefix * point
        issued = {int(r[0]) - lo for r in s.rows(
            "SELECT postcode FROM units WHERE postcode BETWEEN ? AND ? "
            "UNION ALL SELECT postcode FROM retired_postcodes WHERE postcode BETWEEN ? AND ?",
            [lo, lo + point - 1, lo, lo + point - 1])}
        start = anchor - lo + 1 if prefix == anchor // point else 1
        # The first free serials after the anchor, then from the start of the block; only the few taken are
        # checked against the rules (the route part is the neighbour's, so only «one digit ten times» can fail).
        order = chain(range(start, point), range(1, min(start, point)))
        free = (lo + x for x in order if x not in issued)
        codes = list(islice((c for c in free if is_valid(f"{c:010d}")), n))
        if len(codes) == n:
            return codes
    raise EditError("postcodes_exhausted", "units",
                    message("edit.postcodes_exhausted", count=n, building=near.building_id))
