"""One area's street network, buildings and units (a city neighbourhood, an estate or a village).

The streets go in the area's own blocks of the national lattice, one main street with its alleys and
dead ends per block, on the comb of :mod:`jinef.write.ingest.comb`; no point leaves the area's blocks.

Pure Python with ``random.Random`` on purpose: areas are small (tens to thousands of buildings),
where per-call numpy overhead costs more than it saves, and ``random.Random`` is deterministic
for a seed on every platform.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from jinef.model.address import ThoroughfareType, Usage
from jinef.model.digits import to_persian_digits
from jinef.write.ingest import comb
from jinef.write.ingest import vocabulary as vocab
from jinef.write.ingest.comb import EDEPTH, MIN_W, OFF
from jinef.write.ingest.lattice import DLON, M_PER_DEG
from jinef.write.ingest.postcode_allocator import RuralSequence, UrbanSequence

T = TypeVar("T")
SizeClass = Literal["metro", "city", "town", "village", "industrial"]

# (probability of a one-unit house, floors range, units-per-floor range) by settlement size.
_BUILDINGS: dict[str, tuple[float, tuple[int, int], tuple[int, int]]] = {
    "metro": (0.15, (2, 10), (1, 4)),
    "city": (0.40, (2, 5), (1, 3)),
    "town": (0.70, (2, 3), (1, 2)),
    "village": (0.95, (2, 2), (1, 1)),
    "industrial": (1.0, (1, 1), (1, 1)),
}
_OTHER_USAGE: tuple[tuple[float, str], ...] = (
    (0.01, Usage.ADMINISTRATIVE.value),  # indexed by int(r * 100) for r < 0.04
    (0.02, Usage.EDUCATIONAL.value),
    (0.03, Usage.HEALTH.value),
    (0.04, Usage.RELIGIOUS.value),
)
_RESIDENTIAL = Usage.RESIDENTIAL.value
_COMMERCIAL = Usage.COMMERCIAL.value
_WORKSHOP = Usage.WORKSHOP.value
_AGRICULTURAL = Usage.AGRICULTURAL.value
_INDUSTRIAL_NAMES = ("صنعت", "تولید", "کار", "فن‌آوری", "صنایع", "کارآفرین", "نوآوری", "فولاد")


# Largest number of units in one building (floors x units per floor), for the tables below.
_MAX_UNITS = max(fmax * umax for _p, (_fmin, fmax), (_umin, umax) in _BUILDINGS.values())
# Unit numbers, plates and entrances as text, made once instead of once per unit.
_LABELS = tuple(str(i) for i in range(max(1000, _MAX_UNITS + 1)))
_N_LABELS = len(_LABELS)
_MAX_UPF = max(umax for _p, _f, (_umin, umax) in _BUILDINGS.values())
_MAX_SHOPS = 2
# _UNIT_SPECS[upf][shops][n]: (j, floor, label) of the n non-shop units of an entrance after ``shops`` shops.
_UNIT_SPECS = {upf: [[tuple((j, j // upf + 1, _LABELS[shops + j + 1]) for j in range(n)) for n in range(_MAX_UNITS + 1)]
                     for shops in range(_MAX_SHOPS + 1)]
               for upf in range(1, _MAX_UPF + 1)}


def _ri(rng: random.Random, a: int, b: int) -> int:
    """randint without its argument checks (5x faster; same determinism for a seed)."""
    return a + int(rng.random() * (b - a + 1))


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """random.choice without its overhead."""
    return seq[int(rng.random() * len(seq))]


# The generator leaves the columns that are the same for every generated row to the schema's defaults.
BUILDING_COLUMNS = ("id", "locality_id", "neighbourhood_id", "prev_thoroughfare_id", "last_thoroughfare_id",
                    "plate", "entrance", "name", "lat", "lon")
UNIT_COLUMNS = ("id", "postcode", "building_id", "floor", "unit", "usage")


@dataclass
class Rows:
    """Rows waiting to be written, in the column orders of :data:`BUILDING_COLUMNS` and :data:`UNIT_COLUMNS`."""

    thoroughfares: list[tuple[object, ...]] = field(default_factory=list)
    buildings: list[tuple[object, ...]] = field(default_factory=list)
    units: list[tuple[object, ...]] = field(default_factory=list)


@dataclass
class Ids:
    """Sequential ids, shared by the whole build so that ids are stable for a seed."""

    thoroughfare: int = 0
    building: int = 0
    unit: int = 0


class NamePicker:
    """Street names for one locality, drawn from the themes without repeating until spent."""

    def __init__(self, rng: random.Random, industrial: bool = False) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()
        self.industrial = industrial

    def main_street(self) -> str:
        """A fresh name for a main street or boulevard."""
        rng = self.rng
        if self.industrial:
            name = f"{_pick(rng, _INDUSTRIAL_NAMES)} {to_persian_digits(str(len(self.used) + 1))}"
            self.used.add(name)
            return name
        for _ in range(20):
            pattern, words = _pick(rng, vocab.STREET_THEMES)
            name = pattern.format(_pick(rng, words))
            if name not in self.used:
                self.used.add(name)
                return name
        name = f"{pattern.format(_pick(rng, words))} {to_persian_digits(str(len(self.used)))}"
        self.used.add(name)
        return name

    def side_name(self, index: int, parent: str) -> str:
        """An alley or dead-end name: a number («۱۲»), an ordinal word («دوازدهم») or a theme name.

        A certificate names only the last two thoroughfares, so (parent, name) must be unique in the area:
        two «بن‌بست ۲» off two alleys both called «کوچه یاس» would give two buildings one address. A number
        and its ordinal word count as the same name («کوچه ۱۲» = «کوچه دوازدهم»).
        """
        rng = self.rng
        name, key = "", ""
        for _ in range(12):
            r = rng.random()
            if r < 0.4:
                name, key = to_persian_digits(str(index)), str(index)
            elif r < 0.7 and index < len(vocab.ORDINAL_WORDS):
                name, key = vocab.ORDINAL_WORDS[index], str(index)
            else:
                pattern, words = _pick(rng, vocab.ALLEY_THEMES)
                name = key = pattern.format(_pick(rng, words))
            if (parent, key) not in self.pairs:
                break
            index += 1
        self.pairs.add((parent, key))
        return name


@dataclass
class Area:
    """What an area needs to know about where it is: its own blocks of the national lattice."""

    locality_id: int
    neighbourhood_id: int | None
    blocks: tuple[int, ...]
    size: SizeClass
    names: NamePicker
    postcodes: UrbanSequence | RuralSequence


def units_per_parcel(size: SizeClass) -> float:
    """Units on one plot, on average, for a settlement size (what :func:`_building_sizes` draws)."""
    p_house, (fmin, fmax), (umin, umax) = _BUILDINGS[size]
    return p_house + (1 - p_house) * (fmin + fmax) / 2 * (umin + umax) / 2


# Villages pack their houses twice as close as towns do (plots nearer 10 m than 20 m wide, longer alleys).
_PACKING: dict[str, float] = {"village": 2.0}


def blocks_needed(units: int, size: SizeClass) -> int:
    """Blocks the planner gives an area of ``units`` units (a job that needs more packs its blocks denser)."""
    return comb.blocks_for(units / units_per_parcel(size) / _PACKING.get(size, 1.0))


def _building_sizes(rng: random.Random, size: SizeClass, n_units: int) -> list[tuple[int, int]]:
    """(units, units per floor) for buildings that hold exactly ``n_units`` units."""
    p_house, (fmin, fmax), (umin, umax) = _BUILDINGS[size]
    out: list[tuple[int, int]] = []
    add = out.append
    rnd = rng.random
    house = (1, 1)
    uspan, fspan = umax - umin + 1, fmax - fmin + 1
    left = n_units
    while left > 0:
        if rnd() < p_house:
            add(house)
            left -= 1
            continue
        # _ri inlined (the same draws): this runs once per building of the build.
        upf = umin + int(rnd() * uspan)
        k = (fmin + int(rnd() * fspan)) * upf
        if k > left:
            k = left
        add((k, upf))
        left -= k
    return out


class _Cursor:
    """Walks along a thoroughfare laying out buildings: its line, where each side's next plot begins, the plate.

    The thoroughfare row is written only when its first building is placed, so no street is
    left without buildings.
    """

    def __init__(self, line: comb.Line, slot: comb.Slot, kind: str, name: str, parent: _Cursor | None,
                 prev_id: int | None = None, follows: bool = False) -> None:
        self.line, self.slot = line, slot
        self.kind, self.name = kind, name
        self.parent = parent
        self.follows = follows  # a dead end: carries on along its parent alley's line, past its buildings
        self.tid = 0
        self.prev_id = prev_id
        self.step = 0
        self.plate = 0
        self.left = self.right = line.start


def generate_area(area: Area, n_units: int, rng: random.Random, ids: Ids, rows: Rows) -> float:
    """Lay out streets, buildings and units for ``n_units`` units in the area's blocks.

    Returns how many times denser than normal the blocks had to be packed (1.0 when they sufficed).
    """
    if n_units <= 0:
        return 1.0
    sizes = _building_sizes(rng, area.size, n_units)
    density, groups = comb.plan_groups(rng, len(sizes), area.blocks, _PACKING.get(area.size, 1.0))
    kind_main = ThoroughfareType.STREET.value
    alley_t, dead_t, blvd_t = (ThoroughfareType.ALLEY.value, ThoroughfareType.DEAD_END.value,
                               ThoroughfareType.BOULEVARD.value)
    urban = area.size != "village"
    thoroughfares = rows.thoroughfares
    loc = area.locality_id

    def open_thoroughfare(cur: _Cursor) -> None:
        ids.thoroughfare += 1
        cur.tid = ids.thoroughfare
        if cur.parent is not None:
            cur.prev_id = cur.parent.tid or None
            if cur.follows:
                cur.left = cur.right = max(cur.parent.left, cur.parent.right)
        thoroughfares.append((cur.tid, loc, cur.kind, cur.name))

    lay_buildings = _Layout(area, rng, ids, rows)
    prev_main: int | None = None
    if urban and area.size != "industrial":
        # The area's arterial (a boulevard, square or main street that its first street opens onto), so
        # that addresses on that first street also name the thoroughfare before the last, as certificates do.
        r = rng.random()
        kind = ThoroughfareType.SQUARE.value if r < 0.2 else blvd_t if r < 0.5 else kind_main
        ids.thoroughfare += 1
        prev_main = ids.thoroughfare
        thoroughfares.append((prev_main, loc, kind, area.names.main_street()))
    bi = 0
    for g in groups:
        if bi >= len(sizes):
            break
        # A main street with its alleys and dead ends, in its own slot.
        main_line, alley_lines = comb.lines(g)
        kind = blvd_t if urban and area.size != "industrial" and rng.random() < 0.12 else kind_main
        main = _Cursor(main_line, g.slot, kind, area.names.main_street(), None, prev_main)
        queue: list[tuple[_Cursor, int, bool]] = [(main, g.main_cap, True)]  # (cursor, capacity, main frontage)
        for i, ((cap, dead_cap), line) in enumerate(zip(g.alleys, alley_lines, strict=True), start=1):
            alley = _Cursor(line, g.slot, alley_t, area.names.side_name(i, main.name), main)
            queue.append((alley, cap, False))
            if dead_cap:
                dead = _Cursor(line, g.slot, dead_t, area.names.side_name(_ri(rng, 1, 6), alley.name), alley,
                               follows=True)
                queue.append((dead, dead_cap, False))
        for cur, cap, frontage in queue:
            if bi >= len(sizes):
                break
            open_thoroughfare(cur)
            if frontage:
                prev_main = cur.tid
            stop = min(bi + cap, len(sizes))
            lay_buildings(cur, sizes[bi:stop], frontage)
            bi = stop
    return density


class _Layout:
    """Lays out one area's buildings and units, street by street.

    The loop body runs once per building of a national build (millions of times), so it binds what
    it uses to locals once per street and calls no helpers; the random draws and the float
    arithmetic are exactly those of the straightforward version, so a seed gives the same registry.
    """

    def __init__(self, area: Area, rng: random.Random, ids: Ids, rows: Rows) -> None:
        self.area, self.rng, self.ids, self.rows = area, rng, ids, rows

    def __call__(self, cur: _Cursor, sizes: list[tuple[int, int]], frontage: bool) -> None:
        """Place ``sizes`` buildings one after another along ``cur``."""
        area, rng, ids = self.area, self.rng, self.ids
        rnd = rng.random
        buildings, units = self.rows.buildings.append, self.rows.units
        add_unit, add_units = units.append, units.extend
        first = area.postcodes.first
        size = area.size
        industrial, village = size == "industrial", size == "village"
        shops_here = frontage and (size == "metro" or size == "city")
        house_shop = frontage and not village  # a one-unit house on a main street may be a shop
        loc, hood, prev_id, tid = area.locality_id, area.neighbourhood_id, cur.prev_id, cur.tid
        slot, line = cur.slot, cur.line
        lat0, lon0 = slot.lat0, slot.lon0
        lon_m = slot.width / (DLON * slot.scale)  # metres per degree of longitude, as the slot's width was measured
        x0, y0, dx, dy = line.x, line.y, line.dx, line.dy
        w_lo = MIN_W * slot.scale
        w_span = line.w_max - w_lo
        off0 = OFF * slot.scale
        # A further entrance of a complex: this much deeper into the plot on the left side (negated on the right).
        deep_lat, deep_lon = dx * EDEPTH * slot.scale / M_PER_DEG, -dy * EDEPTH * slot.scale / lon_m
        left_t, right_t = cur.left, cur.right
        step, plate_no = cur.step, cur.plate
        bid, uid = ids.building, ids.unit
        for k, upf in sizes:
            step += 1
            plate_no += 1 + int(rnd() * 3)
            w = w_lo + rnd() * w_span
            if step % 2:
                along = left_t + w / 2
                left_t += w
                off = off0
            else:
                along = right_t + w / 2
                right_t += w
                off = -off0
            x = x0 + dx * along - dy * off
            y = y0 + dy * along + dx * off
            # Not rounded here: the export prints 7 decimals (1 cm) and the same seed gives the same floats.
            lat = lat0 + y / M_PER_DEG
            lon = lon0 + x / lon_m
            plate = _LABELS[plate_no] if plate_no < _N_LABELS else str(plate_no)
            gap = 1 + int(rnd() * 4)
            if k == 1:
                r = rnd()
                if industrial:
                    usage = _WORKSHOP
                elif house_shop and r < 0.35:
                    usage = _COMMERCIAL
                elif r < 0.04:
                    usage = _OTHER_USAGE[int(r * 100)][1]
                elif village and r > 0.95:
                    usage = _AGRICULTURAL
                else:
                    usage = _RESIDENTIAL
                bid += 1
                buildings((bid, loc, hood, prev_id, tid, plate, "", "", lat, lon))
                uid += 1
                add_unit((uid, first(1, gap), bid, None, "", usage))
                continue
            # A building of several units (or, for a big complex, one building per entrance).
            name = ""
            if k >= 4 and rnd() < 0.2:
                name = _pick(rng, vocab.BUILDING_PATTERNS).format(_pick(rng, vocab.BUILDING_NAMES))
            usage = _WORKSHOP if industrial else _RESIDENTIAL
            # Shops on the ground floor of main-street buildings, counted in the building's units.
            shops = 0
            if shops_here and rnd() < 0.5:
                shops = min(1 + int(rnd() * _MAX_SHOPS), k - 1)
            k -= shops
            # Big complexes: one plate, several entrances, each a building of its own.
            entrances = 2 + int(rnd() * 2) if k >= 12 and rnd() < 0.4 else 1
            specs = _UNIT_SPECS[upf]
            for e in range(1, entrances + 1):
                ke = k // entrances + (1 if e - 1 < k % entrances else 0)
                bid += 1
                # Each further entrance deeper into the plot, EDEPTH metres behind the one before.
                sgn = (e - 1) if off > 0 else (1 - e)
                buildings((bid, loc, hood, prev_id, tid, plate, _LABELS[e] if entrances > 1 else "", name,
                           lat + sgn * deep_lat, lon + sgn * deep_lon))
                n_shops = shops if e == 1 else 0
                code = first(ke + n_shops, gap if e == 1 else 0)
                for j in range(n_shops):
                    uid += 1
                    add_unit((uid, code + j, bid, 0, _LABELS[j + 1], _COMMERCIAL))
                # Unit j of the entrance: floor j // upf + 1, numbered after the shops. A short loop is
                # cheapest for a few units; past that, a comprehension over the prebuilt (j, floor, label).
                code += n_shops
                if ke < 4:
                    for j in range(ke):
                        uid += 1
                        add_unit((uid, code + j, bid, j // upf + 1, _LABELS[n_shops + j + 1], usage))
                else:
                    u0 = uid + 1
                    add_units([(u0 + j, code + j, bid, f, label, usage) for j, f, label in specs[n_shops][ke]])
                    uid += ke
        ids.building, ids.unit = bid, uid
        cur.step, cur.plate = step, plate_no
        cur.left, cur.right = left_t, right_t
