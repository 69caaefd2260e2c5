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

from jinef.ingest import lattice

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


@dataclass(frozen=True)
class Density:
    """How hard a job packs its blocks: factors on the drawn capacities, and slots per cell side."""

    main: float
    alleys: float
    alley_cap: float
    split: int


# Tried in order until the job's buildings fit its blocks. The first is the normal city; the next ones fill
# the same blocks up to the geometry's limit (plots 10 m wide, alleys 50 m apart); the last halves every
# length in quarter cells, for a county with too little room for its people.
DENSITIES = (Density(1, 1, 1, 1), Density(2, 1, 2, 1), Density(4, 2, 4, 1), Density(4, 2, 4, 2))


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


def _group(rng: random.Random, d: Density, slot: Slot) -> Group:
    main_side, pairs, line = _limits(slot)
    main = min(round(_ri(rng, *MAIN_CAP) * d.main), 2 * main_side)
    alleys = []
    for _ in range(min(round(_ri(rng, *N_ALLEYS) * d.alleys), 2 * pairs)):
        a = min(round(_ri(rng, *ALLEY_CAP) * d.alley_cap), 2 * line)
        dead = round(_ri(rng, *DEAD_CAP) * d.alley_cap) if rng.random() < P_DEAD else 0
        room = line - (a + 1) // 2  # plots per side left on the line; a dead end starts past the alley's longer side
        alleys.append((a, min(dead, 2 * room) if room > 0 else 0))
    return Group(slot, main, alleys, int(rng.random() * 4))


def plan_groups(rng: random.Random, parcels: int, blocks: tuple[int, ...]) -> tuple[int, list[Group]]:
    """Groups of streets that hold ``parcels`` plots in the blocks, one per slot, at the loosest density that fits.

    Returns the density level used (0 unless the blocks were short) and the groups in layout order.
    """
    for level, d in enumerate(DENSITIES):
        room = slots(blocks, d.split)
        groups: list[Group] = []
        total = 0
        while total < parcels and len(groups) < len(room):
            g = _group(rng, d, room[len(groups)])
            groups.append(g)
            total += g.capacity
        if total >= parcels:
            return level, groups
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


def mean_blocks(parcels: float) -> float:
    """Blocks that ``parcels`` plots fill at the normal density, on average."""
    return parcels / MEAN_GROUP


assert ALLEY_GAP > 2 * DEEPEST and START + MIN_W / 2 >= DEEPEST + CLEAR and A0 >= DEEPEST + EDGE
assert math.isclose(lattice.BLOCK_M, 300.0)  # the limits above were checked for cells of this size
