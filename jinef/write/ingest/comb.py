"""The street comb of one block: a main street, alleys off it at right angles, dead ends beyond the alleys.

One *group* of streets (a main street with its alleys and dead ends, the topology addresses are made of)
fills one *slot*: a whole lattice cell, or a quarter of one when a job has to pack densely. In the slot the
main street runs through the middle; alleys leave it on both sides, pairs of them ALLEY_GAP or more apart;
a dead end carries on straight beyond its alley's last building. Buildings stand on both sides of each
thoroughfare, OFF metres from its centreline, consecutive plates on one side MIN_W to MAX_W metres apart;
each further entrance of a complex stands EDEPTH metres deeper into the plot. Every building is EDGE metres
inside its slot. These rules keep any two buildings at least 7 m apart (3.5 m in quarter slots, which
halve every length), whichever jobs they belong to.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from jinef.write.ingest import lattice

MIN_W, MAX_W = 10.0, 20.0  # plate frontage along a street (distance between consecutive plates on one side)
OFF = 8.0  # a building's point from the thoroughfare's centreline
EDEPTH = 7.0  # each further entrance of a complex this much deeper into the plot
DEEPEST = OFF + 2 * EDEPTH  # the third entrance
EDGE = 4.0  # buildings stay this far inside their slot: 8 m between neighbouring slots
CLEAR = 7.0  # between a street's deepest entrance and the buildings of the streets beside it
A0 = DEEPEST + EDGE  # the first alley's distance from the end of the main street
ALLEY_GAP = 2 * DEEPEST + CLEAR  # between alleys on one side of the main street
START = DEEPEST + CLEAR - MIN_W / 2  # where an alley's first plot begins, from the main street's centreline

# The group's drawn capacities: (low, high) buildings on the main street, alleys off it, buildings on an
# alley, on a dead end; and the chance an alley has a dead end.
MAIN_CAP, N_ALLEYS, ALLEY_CAP, DEAD_CAP, P_DEAD = (6, 20), (2, 8), (4, 14), (3, 7), 0.3
MEAN_GROUP = sum(MAIN_CAP) / 2 + sum(N_ALLEYS) / 2 * (sum(ALLEY_CAP) / 2 + P_DEAD * sum(DEAD_CAP) / 2)


# A job whose plots outgrow its blocks makes every drawn capacity up to F_MAX times as large, as far as the
# geometry allows (plots 10 m wide, alleys 51 m apart); past that it halves every length in quarter cells,
# for a county with too little room for its people.
F_MAX = 10.0  # by then every capacity is at the geometry's limit
DENSITY_BOUNDS = (1.0, 1.5, 2.0, 4.0)  # how densely areas were packed is reported in these buckets (and above)


class NoRoomError(RuntimeError):
    """An area's buildings do not fit its blocks even at the densest packing."""


@dataclass(frozen=True)
class Slot:
    """A rectangle holding one group: south-west corner, size in metres, and the scale of its lengths."""

    lon0: float
    lat0: float
    width: float
    height: float
    scale: float


@dataclass
class Line:
    """A thoroughfare's centreline in slot metres: origin, direction, and its plots' frontage range."""

    x: float
    y: float
    dx: float
    dy: float
    start: float
    w_max: float


@dataclass
class Group:
    """One main street and its side streets, their capacities fitted to the slot."""

    slot: Slot
    main_cap: int
    alleys: list[tuple[int, int]]  # (alley capacity, dead-end capacity; 0 for none)
    orient: int  # 0-3: the main street runs east, west, north or south
    capacity: int = field(init=False)

    def __post_init__(self) -> None:
        self.capacity = self.main_cap + sum(a + d for a, d in self.alleys)


def slots(blocks: tuple[int, ...], split: int) -> list[Slot]:
    """The slots of a run of blocks: the cells themselves, or ``split`` x ``split`` parts of each."""
    out = []
    k = 1.0 / split
    for key in blocks:
        lon0, lat0 = lattice.corner(key)
        w, h = lattice.size_m(key)
        for j in range(split):
            for i in range(split):
                out.append(Slot(lon0 + i * lattice.DLON * k, lat0 + j * lattice.DLAT * k, w * k, h * k, k))
    return out


def _limits(slot: Slot) -> tuple[int, int, int]:
    """Buildings per side of the main street, alley pairs, and plots per side of an alley line that fit."""
    side = min(slot.width, slot.height) / slot.scale  # in full-scale metres: the same for every level
    main = int((side - 2 * EDGE) // MIN_W)
    pairs = int((side - 2 * A0) // ALLEY_GAP) + 1
    line = int((side / 2 - EDGE - START) // MIN_W)
    return main, pairs, line


def _ri(rng: random.Random, a: int, b: int) -> int:
    return a + int(rng.random() * (b - a + 1))


@dataclass(frozen=True)
class _Draw:
    """A group's capacities as drawn, before they are fitted to a slot."""

    main: int
    alleys: tuple[tuple[int, int], ...]  # (alley, dead end or 0)
    orient: int


def _draw(rng: random.Random) -> _Draw:
    main = _ri(rng, *MAIN_CAP)
    alleys = []
    for _ in range(_ri(rng, *N_ALLEYS)):
        a = _ri(rng, *ALLEY_CAP)
        alleys.append((a, _ri(rng, *DEAD_CAP) if rng.random() < P_DEAD else 0))
    return _Draw(main, tuple(alleys), int(rng.random() * 4))


def _fit(d: _Draw, slot: Slot, f: float) -> Group:
    """The drawn group made ``f`` times as large (more alleys past 2x), within what the slot holds."""
    main_side, pairs, line = _limits(slot)
    alleys = []
    for i in range(min(round(len(d.alleys) * max(1.0, f / 2)), 2 * pairs)):
        a0, dead0 = d.alleys[i % len(d.alleys)]
        a = min(round(a0 * f), 2 * line)
        room = line - (a + 1) // 2  # plots per side left on the line; a dead end starts past the alley's longer side
        alleys.append((a, min(round(dead0 * f), 2 * room) if room > 0 else 0))
    return Group(slot, min(round(d.main * f), 2 * main_side), alleys, d.orient)


def plan_groups(rng: random.Random, parcels: int, blocks: tuple[int, ...],
                base: float = 1.0) -> tuple[float, list[Group]]:
    """Groups of streets holding ``parcels`` plots in the blocks, one per slot, packed no denser than needed.

    ``base`` is the area's normal packing (the drawn capacities times this). Returns how many times denser
    than its normal the plots are packed (1.0 when the blocks suffice; unused blocks stay open ground) and
    the groups in layout order.
    """
    for split in (1, 2):
        room = slots(blocks, split)
        draws = [_draw(rng) for _ in room]
        f = base
        while True:
            groups = [_fit(d, s, f) for d, s in zip(draws, room, strict=True)]
            total = sum(g.capacity for g in groups)
            if total >= parcels:
                used, acc = 0, 0
                while acc < parcels:
                    acc += groups[used].capacity
                    used += 1
                return f * split * split / base, groups[:used]
            if f >= F_MAX:
                break
            f = min(F_MAX, f * max(1.05, parcels / total))
    raise NoRoomError(f"{parcels} plots do not fit {len(blocks)} blocks even at the densest packing")


def lines(g: Group) -> tuple[Line, list[Line]]:
    """The main street's line and the alleys' lines (a dead end continues its alley's line)."""
    s = g.slot
    k = s.scale
    w, h = s.width, s.height
    # Origin of the main street (at its start, mid-slot), its direction, its length, and the half-width across.
    x0, y0, dx, dy, length, half = ((0.0, h / 2, 1.0, 0.0, w, h / 2), (w, h / 2, -1.0, 0.0, w, h / 2),
                                    (w / 2, 0.0, 0.0, 1.0, h, w / 2), (w / 2, h, 0.0, -1.0, h, w / 2))[g.orient]
    per_side = (g.main_cap + 1) // 2
    main = Line(x0, y0, dx, dy, EDGE * k, _w_max((length - 2 * EDGE * k) / max(per_side, 1), k))
    n_pairs = (len(g.alleys) + 1) // 2
    a0 = A0 * k
    gap = (length - 2 * a0) / (n_pairs - 1) if n_pairs > 1 else 0.0
    out = []
    for i, (a, dead) in enumerate(g.alleys):
        at = a0 + (i // 2) * gap if n_pairs > 1 else length / 2
        side = 1.0 if i % 2 == 0 else -1.0  # alternately left and right of the main street
        plots = (a + 1) // 2 + (dead + 1) // 2
        reach = half - EDGE * k - START * k
        out.append(Line(x0 + dx * at, y0 + dy * at, -dy * side, dx * side, START * k,
                        _w_max(reach / max(plots, 1), k)))
    return main, out


def _w_max(room_per_plot: float, k: float) -> float:
    """The widest plot frontage that still fits the plots (never under MIN_W: capacities were fitted)."""
    return max(MIN_W * k, min(MAX_W * k, room_per_plot))


def _var(lo: int, hi: int) -> float:
    """Variance of a uniform whole number in [lo, hi]."""
    return ((hi - lo + 1) ** 2 - 1) / 12


def _group_sd() -> float:
    """Standard deviation of a drawn group's capacity (a random number of alleys of random capacities)."""
    dead_mean = sum(DEAD_CAP) / 2
    side = sum(ALLEY_CAP) / 2 + P_DEAD * dead_mean  # an alley and its dead end, if any
    side_var = _var(*ALLEY_CAP) + P_DEAD * (_var(*DEAD_CAP) + dead_mean**2) - (P_DEAD * dead_mean) ** 2
    n_mean = sum(N_ALLEYS) / 2
    return math.sqrt(_var(*MAIN_CAP) + n_mean * side_var + _var(*N_ALLEYS) * side**2)


GROUP_SD = _group_sd()
PARKS = 0.1  # at least this share of a city's blocks planned beyond its needs stays open ground
SURE = 1.5  # standard deviations of capacity planned beyond the mean: few areas need to pack denser


def blocks_for(parcels: float) -> int:
    """Blocks to plan for ``parcels`` plots: enough that they hold them at normal density, but for bad luck."""
    k = max(1, math.ceil(parcels * (1 + PARKS) / MEAN_GROUP))
    while MEAN_GROUP * k - SURE * GROUP_SD * math.sqrt(k) < parcels:
        k += 1
    return k


# The spacing rules above, as the module docstring states them.
assert ALLEY_GAP > 2 * DEEPEST and START + MIN_W / 2 >= DEEPEST + CLEAR and A0 >= DEEPEST + EDGE
